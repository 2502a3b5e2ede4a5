// aurae-vm-exec: runs a command inside a VM's workload, as `aurae exec` does for a container, through the VM's
// exec port (a virtio-serial port whose host end is a Unix socket qemu listens on; aurae-init serves the guest's
// end). Its stdout, stderr and exit code are the command's:
//
//   aurae-vm-exec SOCKET ERRFILE [--detach] [--stdin] [--tty ROWS COLS] [--workdir PATH] [--env NAME=VALUE]...
//                 -- COMMAND [ARG...]
//
// The request is a 4-byte big-endian length and the words of job.ts's encoding: `id N`, `arg W`..., `env K=V`...,
// `workdir P`, `detach 1`, `stdin 1` (the command's stdin is a pipe fed with this one's), `tty ROWSxCOLS` (the
// command runs on a terminal of its own in the guest, sized so from the start, and this one's stdin is its keys).
// Then frames go both ways: a type byte, the request's id and the data's length (4 bytes each, big-endian), the
// data. The guest sends 'o' stdout (a terminal's one stream), 'e' stderr, 'a' input the command took (its byte count,
// 4 bytes: that much more may be sent; no more than IN_WINDOW is ever on its way, so the guest holds no more for it)
// and 'x' the end: `exit N` or `signal N`, after an `error MESSAGE` line when the command could not run. This one
// sends 'i' input, 'c' the end of input (on a terminal, a hangup) and 'w' a window size (rows and cols, big-endian
// u16 each). Frames of another id (a request whose caller went away) are skipped. Why the command did not run, or
// why no end came, goes to ERRFILE as `CODE MESSAGE` (to stderr as `aurae: MESSAGE` when ERRFILE is -); the exit
// code is then 125, 126 or 127, as Docker's.
//
// --stdin with /dev/null on stdin is no input: the command's stdin is /dev/null, as without it. With --tty and a
// terminal on stdin (the caller's own, or aurae-pty's under the node), that terminal is raw while the command runs
// (restored at the end, and before a signal ends this), its size is the command's rather than ROWS COLS and follows
// it on SIGWINCH, and a SIGHUP (its hangup) is the end of input.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MAX_FRAME (1 << 20)
#define FRAME_HEAD 9
// Input not yet taken by the command, at most: aurae-init's queue for it (aurae-init.c's IN_WINDOW).
#define IN_WINDOW (128 * 1024)
// An input frame goes into the guest's port as one buffer (32 KiB).
#define IN_CHUNK (32 * 1024 - FRAME_HEAD)

static const char *errfile;
// The terminal on stdin as it was, while this one has it raw.
static struct termios cooked;
static volatile sig_atomic_t raw, resized, hungup;

static void restore(void) {
  if (raw) tcsetattr(0, TCSANOW, &cooked);
  raw = 0;
}

// Says why on ERRFILE (for the node to read) and exits with `code`.
static void fail(int code, const char *msg) {
  restore();
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

static void on_resize(int sig) {
  (void)sig;
  resized = 1;
}

static void on_hangup(int sig) {
  (void)sig;
  hungup = 1;
}

// A signal that ends this ends it as it would have, the terminal restored first.
static void on_end(int sig) {
  restore();
  signal(sig, SIG_DFL);
  raise(sig);
}

// Writes all of `buf`, waiting while a non-blocking `fd` is full (a terminal the caller shares may be one); on the
// exec socket, a VM gone is an error, not SIGPIPE.
static int write_all(int fd, const void *buf, size_t n, int sock) {
  const char *p = buf;
  while (n > 0) {
    ssize_t w = sock ? send(fd, p, n, MSG_NOSIGNAL) : write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) {
      struct pollfd out = { .fd = fd, .events = POLLOUT };
      poll(&out, 1, -1);
      continue;
    }
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static uint32_t be32(const unsigned char *b) { return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]; }

static void put32(unsigned char *b, uint32_t v) {
  b[0] = (unsigned char)(v >> 24);
  b[1] = (unsigned char)(v >> 16);
  b[2] = (unsigned char)(v >> 8);
  b[3] = (unsigned char)v;
}

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

// A terminal's rows or columns, 1 to 65535.
static unsigned dimension(const char *text) {
  char *end;
  unsigned long n = strtoul(text, &end, 10);
  if (*end != '\0' || n == 0 || n > 0xffff) fail(125, "aurae-vm-exec: bad arguments");
  return (unsigned)n;
}

// Whether `fd` is /dev/null: an input known to be empty.
static int is_null(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3);
}

// Frames to the guest: an input frame at a time, and room beside it for a window size and the end of input.
static unsigned char out[FRAME_HEAD + IN_CHUNK + 64];
static size_t out_len, out_sent;
static uint32_t id;

static unsigned char *frame(char type, size_t n) {
  unsigned char *head = out + out_len;
  head[0] = (unsigned char)type;
  put32(head + 1, id);
  put32(head + 5, (uint32_t)n);
  out_len += FRAME_HEAD + n;
  return head + FRAME_HEAD;
}

// The terminal's size as a 'w' frame, when it has one.
static void send_size(void) {
  struct winsize ws;
  if (ioctl(0, TIOCGWINSZ, &ws) != 0 || ws.ws_row == 0 || ws.ws_col == 0) return;
  unsigned char *data = frame('w', 4);
  data[0] = (unsigned char)(ws.ws_row >> 8);
  data[1] = (unsigned char)ws.ws_row;
  data[2] = (unsigned char)(ws.ws_col >> 8);
  data[3] = (unsigned char)ws.ws_col;
}

// The command's end: its exit code, or its failure said.
static void end(char *data) {
  char *error = NULL, *line, *save = NULL;
  int code = 125;
  for (line = strtok_r(data, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
    int v;
    if (strncmp(line, "error ", 6) == 0) error = line + 6;
    else if (sscanf(line, "exit %d", &v) == 1) code = v;
    else if (sscanf(line, "signal %d", &v) == 1) code = 128 + v;
  }
  if (error != NULL) fail(code, error);
  restore();
  exit(code);
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: aurae-vm-exec SOCKET ERRFILE [--detach] [--stdin] [--tty ROWS COLS] [--workdir PATH] [--env NAME=VALUE]... -- COMMAND [ARG...]\n");
    return 125;
  }
  const char *socket_path = argv[1];
  errfile = argv[2];
  size_t cap = 4096, len = 4;
  char *req = malloc(cap);
  if (req == NULL) fail(125, "out of memory");
  if (getrandom(&id, sizeof id, 0) != sizeof id) id = (uint32_t)time(NULL) ^ (uint32_t)getpid();
  char text[32];
  snprintf(text, sizeof text, "%u", id);
  word(&req, &len, &cap, "id", text);
  int input = 0, tty = 0, i = 3;
  unsigned rows = 0, cols = 0;
  for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
    if (strcmp(argv[i], "--detach") == 0) word(&req, &len, &cap, "detach", "1");
    else if (strcmp(argv[i], "--stdin") == 0) input = 1;
    else if (strcmp(argv[i], "--tty") == 0 && i + 2 < argc) {
      tty = 1;
      rows = dimension(argv[++i]);
      cols = dimension(argv[++i]);
    } else if (strcmp(argv[i], "--workdir") == 0 && i + 1 < argc) word(&req, &len, &cap, "workdir", argv[++i]);
    else if (strcmp(argv[i], "--env") == 0 && i + 1 < argc) word(&req, &len, &cap, "env", argv[++i]);
    else fail(125, "aurae-vm-exec: bad arguments");
  }
  if (i + 1 >= argc) fail(125, "aurae-vm-exec: no command");
  for (i++; i < argc; i++) word(&req, &len, &cap, "arg", argv[i]);
  // A terminal on stdin is raw from here on (its keys go to the command's) and gives the command its size.
  int terminal = tty && tcgetattr(0, &cooked) == 0;
  struct winsize ws;
  if (terminal && ioctl(0, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) {
    rows = ws.ws_row;
    cols = ws.ws_col;
  }
  if (tty) {
    snprintf(text, sizeof text, "%ux%u", rows, cols);
    word(&req, &len, &cap, "tty", text);
  } else if (input && !is_null(0)) word(&req, &len, &cap, "stdin", "1");
  else input = 0;
  uint32_t body = (uint32_t)(len - 4);
  put32((unsigned char *)req, body);

  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  if (strlen(socket_path) >= sizeof addr.sun_path) fail(125, "the VM's exec socket path is too long");
  strcpy(addr.sun_path, socket_path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) fail(125, "cannot reach the VM: it is not running");
  if (write_all(fd, req, len, 1) != 0) fail(125, "the VM went away before it took the command");
  free(req);
  fcntl(fd, F_SETFL, O_NONBLOCK);

  // On a terminal, SIGWINCH and SIGHUP are taken between polls only; a signal that ends this restores it first.
  sigset_t held, old;
  sigemptyset(&held);
  if (tty) {
    sigaddset(&held, SIGWINCH);
    sigaddset(&held, SIGHUP);
    struct sigaction sa = { .sa_handler = on_resize };
    sigaction(SIGWINCH, &sa, NULL);
    sa.sa_handler = on_hangup;
    sigaction(SIGHUP, &sa, NULL);
  }
  sigprocmask(SIG_BLOCK, &held, &old);
  if (terminal) {
    struct termios t = cooked;
    cfmakeraw(&t);
    struct sigaction sa = { .sa_handler = on_end };
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGQUIT, &sa, NULL);
    atexit(restore);
    raw = tcsetattr(0, TCSANOW, &t) == 0;
  }

  static unsigned char in[FRAME_HEAD + MAX_FRAME + 1];
  size_t have = 0;
  uint32_t credit = IN_WINDOW;
  int reading = input || tty, input_ended = 0;
  for (;;) {
    if (resized && terminal && out_len + FRAME_HEAD + 4 <= sizeof out) {
      resized = 0;
      send_size();
    }
    if (hungup) reading = 0;
    if ((input || tty) && !reading && !input_ended && out_len + FRAME_HEAD <= sizeof out) {
      input_ended = 1;
      frame('c', 0);
    }
    struct pollfd fds[2] = {
      { .fd = fd, .events = (short)(POLLIN | (out_len > out_sent ? POLLOUT : 0)) },
      { .fd = reading && out_len == 0 && credit > 0 ? 0 : -1, .events = POLLIN },
    };
    if (ppoll(fds, 2, NULL, &old) < 0) {
      if (errno == EINTR) continue;
      fail(125, "aurae-vm-exec: poll failed");
    }
    if ((fds[0].revents & POLLOUT) != 0) {
      ssize_t n = send(fd, out + out_sent, out_len - out_sent, MSG_NOSIGNAL);
      if (n > 0 && (out_sent += (size_t)n) == out_len) out_len = out_sent = 0;
      // A VM gone says so when its end is read.
    }
    if ((fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      ssize_t n = read(0, out + FRAME_HEAD, credit < IN_CHUNK ? credit : IN_CHUNK);
      if (n > 0) {
        frame('i', (size_t)n);
        credit -= (uint32_t)n;
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) reading = 0;
    }
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
    ssize_t got = read(fd, in + have, sizeof in - 1 - have);
    if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) fail(125, "the VM ended before the command did");
    if (got < 0) continue;
    have += (size_t)got;
    size_t at = 0;
    while (have - at >= FRAME_HEAD) {
      unsigned char *head = in + at, *data = head + FRAME_HEAD;
      uint32_t n = be32(head + 5);
      if (n > MAX_FRAME) fail(125, "the VM sent a frame too large to be one of its own");
      if (have - at < FRAME_HEAD + n) break;
      at += FRAME_HEAD + n;
      if (be32(head + 1) != id) continue;
      if ((head[0] == 'o' || head[0] == 'e') && write_all(head[0] == 'o' ? 1 : 2, data, n, 0) != 0) fail(125, "cannot write the command's output");
      if (head[0] == 'a' && n == 4) credit = (uint64_t)credit + be32(data) > IN_WINDOW ? IN_WINDOW : credit + be32(data);
      if (head[0] == 'x') {
        data[n] = '\0';
        end((char *)data);
      }
    }
    memmove(in, in + at, have - at);
    have -= at;
  }
}
