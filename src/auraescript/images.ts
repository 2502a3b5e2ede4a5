// AuraeScript's `images` module: the node's own aurae.images.v0.ImageService (pull, list, remove …).
import * as gen from '../gen/aurae/images/v0/images.ts'
import type { ServiceClient } from '../client/channel.ts'
import { defaultClient } from './aurae.ts'
import { serviceClient } from './client.ts'
import { IMAGES } from '../client/connect.ts'

export * from '../gen/aurae/images/v0/images.ts'

export type ImageServiceClient = ServiceClient<typeof gen.ImageServiceService>
export const ImageServiceClient = serviceClient(gen.ImageServiceService, IMAGES, defaultClient)
