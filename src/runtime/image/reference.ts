// Image references are read the same way by the CLI and the node: the parser is one shared module.
export { formatImageReference, isLoopbackRegistry, parseImageReference, type ImageReference } from '../../common/image-reference.ts'
