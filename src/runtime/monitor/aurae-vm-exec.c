// aurae-vm-exec: runs a command inside a VM's workload, as `aurae exec` does for a container, through the VM's
// exec port (a virtio-serial port whose host end is a Unix socket qemu listens on; aurae-init serves the guest's
// end). Its stdout, stderr and exit code are the command's:
//
//   aurae-vm-exec SOCKET ERRFILE [--detach] [--workdir PATH] [--env NAME=VALUE]... -- COMMAND [ARG...]
//
// The request is a 4-byte big-endian length and the words of job.ts's encoding: `id N`, `arg W`..., `env K=V`...,
// `workdir P`, `detach 1`. The guest answers in frames: a type byte ('o' stdout, 'e' stderr, 'x' the end), the
// request's id and the data's length (4 bytes each, big-endian), then the data. The end is `exit N` or `signal N`,
// after an `error MESSAGE` line when the command could not run. Frames of another id (a request whose caller went
// away) are skipped. Why the command did not run, or why no end came, goes to ERRFILE as `CODE MESSAGE` (to stderr
// as `aurae: MESSAGE` when ERRFILE is -); the exit code is then 125, 126 or 127, as Docker's.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_FRAME (1 << 20)

static const char *errfile;

// Says why on ERRFILE (for the node to read) and exits with `code`.
static void fail(int code, const char *msg) {
  if (strcmp(errfile, "-") == 0) {
    dprintf(2, "aurae: %s\n", msg);
    exit(code);
  }
  int fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd >= 0) {
    dprintf(fd, "%d %s\n", code, msg);
    close(fd);
  }
  exit(code);
}

static int write_all(int fd, const void *buf, size_t n) {
  const char *p = buf;
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

// Reads exactly `n` bytes; 0 at the end of the stream before them, -1 on an error.
static int read_all(int fd, void *buf, size_t n) {
  char *p = buf;
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return r == 0 ? 0 : -1;
    p += r;
    n -= (size_t)r;
  }
  return 1;
}

static uint32_t be32(const unsigned char *b) { return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]; }

// Appends the word `key` and `value`, each NUL-ended, to the request.
static void word(char **req, size_t *len, size_t *cap, const char *key, const char *value) {
  size_t need = strlen(key) + strlen(value) + 2;
  if (*len + need > *cap) {
    *cap = (*len + need) * 2;
    *req = realloc(*req, *cap);
    if (*req == NULL) fail(125, "out of memory");
  }
  memcpy(*req + *len, key, strlen(key) + 1);
  *len += strlen(key) + 1;
  memcpy(*req + *len, value, strlen(value) + 1);
  *len += strlen(value) + 1;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: aurae-vm-exec SOCKET ERRFILE [--detach] [--workdir PATH] [--env NAME=VALUE]... -- COMMAND [ARG...]\n");
    return 125;
  }
  const char *socket_path = argv[1];
  errfile = argv[2];
  size_t cap = 4096, len = 4;
  char *req = malloc(cap);
  if (req == NULL) fail(125, "out of memory");
  uint32_t id;
  if (getrandom(&id, sizeof id, 0) != sizeof id) id = (uint32_t)time(NULL) ^ (uint32_t)getpid();
  char idtext[16];
  snprintf(idtext, sizeof idtext, "%u", id);
  word(&req, &len, &cap, "id", idtext);
  int i = 3;
  for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
    if (strcmp(argv[i], "--detach") == 0) word(&req, &len, &cap, "detach", "1");
    else if (strcmp(argv[i], "--workdir") == 0 && i + 1 < argc) word(&req, &len, &cap, "workdir", argv[++i]);
    else if (strcmp(argv[i], "--env") == 0 && i + 1 < argc) word(&req, &len, &cap, "env", argv[++i]);
    else fail(125, "aurae-vm-exec: bad arguments");
  }
  if (i + 1 >= argc) fail(125, "aurae-vm-exec: no command");
  for (i++; i < argc; i++) word(&req, &len, &cap, "arg", argv[i]);
  uint32_t body = (uint32_t)(len - 4);
  req[0] = (char)(body >> 24);
  req[1] = (char)(body >> 16);
  req[2] = (char)(body >> 8);
  req[3] = (char)body;

  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  if (strlen(socket_path) >= sizeof addr.sun_path) fail(125, "the VM's exec socket path is too long");
  strcpy(addr.sun_path, socket_path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) fail(125, "cannot reach the VM: it is not running");
  if (write_all(fd, req, len) != 0) fail(125, "the VM went away before it took the command");

  static char data[MAX_FRAME + 1];
  for (;;) {
    unsigned char head[9];
    int got = read_all(fd, head, sizeof head);
    if (got <= 0) fail(125, "the VM ended before the command did");
    uint32_t n = be32(head + 5);
    if (n > MAX_FRAME) fail(125, "the VM sent a frame too large to be one of its own");
    if (read_all(fd, data, n) <= 0) fail(125, "the VM ended before the command did");
    if (be32(head + 1) != id) continue;
    if (head[0] == 'o' && write_all(1, data, n) != 0) fail(125, "cannot write the command's output");
    if (head[0] == 'e' && write_all(2, data, n) != 0) fail(125, "cannot write the command's output");
    if (head[0] != 'x') continue;
    data[n] = '\0';
    char *error = NULL, *line, *save = NULL;
    int code = 125;
    for (line = strtok_r(data, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
      int v;
      if (strncmp(line, "error ", 6) == 0) error = line + 6;
      else if (sscanf(line, "exit %d", &v) == 1) code = v;
      else if (sscanf(line, "signal %d", &v) == 1) code = 128 + v;
    }
    if (error != NULL) fail(code, error);
    return code;
  }
}
