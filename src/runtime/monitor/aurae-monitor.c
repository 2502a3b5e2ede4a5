// aurae-monitor: one per workload. Starts the workload as its child, writes its output to a
// CRI-format log with size-capped rotation, and records how it ended in an exit file, so that
// the daemon can die and come back without the workload noticing. An executable's child gets a
// mount namespace of its own first, in which daemon space is hidden (see confine()). With --attach
// it also streams the output to its reader (the local CLI itself, or the daemon for any other
// caller), which connects to it, at the pace the reader takes it.
// With --pid-file (containers) the command is an OCI runtime's `run --detach`, which exits once the container's
// process runs: the monitor, a child subreaper, adopts that process as its own child and supervises it, so no
// runtime process stays alive beside the container (as Podman's conmon does).
// With --stdin pipe the workload's stdin is a pipe the reader writes into over the same connection, with --stdin tty
// a terminal the monitor opens and keeps (its stdin, stdout and stderr); with
// --console-socket the runtime hands the container's terminal over there, and the monitor keeps it, so
// the container keeps its terminal when the daemon (or the reader) goes away.
// With --launcher it instead serves the daemon: it reads launch requests on stdin and forks a
// monitor for each, which is far cheaper than the daemon spawning every monitor itself.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

#define MAX_LINE 16384
#define MAX_CGROUPS 8
#define FLUSH_MS 50
#define READ_BLOCK (256 * 1024)
#define PIPE_BYTES (1024 * 1024)
#define ATTACH_WAIT_MS 5000
#define EXIT_RESERVE 4096

struct stream {
  const char *name;
  int fd;
  unsigned char id; // in attach frames: 1 stdout, 2 stderr
  char buf[MAX_LINE];
  size_t len;
};

static const char *log_path;
static int log_fd = -1;
static off_t log_size;
static long long log_max = 20 * 1024 * 1024;
static int log_files = 5;
static long long log_seq = -1; // number of the newest rotated file; -1 until the directory is read

static void report_status(int fd, const char *id, pid_t child, const char *error, int release);
static const char *launch_id; // the request a launcher's child answers; its failures go to the daemon

static void die(const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fprintf(stderr, "aurae-monitor: %s\n", msg);
  if (launch_id != NULL) report_status(1, launch_id, 0, msg, 0);
  exit(2);
}

static void now_rfc3339(char *out, size_t n) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  size_t k = strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out + k, n - k, ".%09ldZ", ts.tv_nsec);
}

// N when `name` is "<base>.<N>" (decimal digits only), else -1.
static long long rotated_number(const char *name, const char *base, size_t blen) {
  if (strncmp(name, base, blen) != 0 || name[blen] != '.' || name[blen + 1] == '\0') return -1;
  long long n = 0;
  for (const char *p = name + blen + 1; *p; p++) {
    if (*p < '0' || *p > '9' || n > LLONG_MAX / 10 - 10) return -1;
    n = n * 10 + (*p - '0');
  }
  return n;
}

// Deletes the rotated files numbered `upto` or lower; returns the highest number left (0 for none).
static long long sweep_rotated(long long upto) {
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", log_path);
  char *slash = strrchr(dir, '/');
  const char *base = slash == NULL ? log_path : log_path + (slash - dir) + 1;
  if (slash == NULL) snprintf(dir, sizeof dir, ".");
  else if (slash == dir) dir[1] = '\0';
  else *slash = '\0';
  DIR *d = opendir(dir);
  if (d == NULL) return 0;
  long long max = 0;
  size_t blen = strlen(base);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    long long n = rotated_number(e->d_name, base, blen);
    if (n < 0) continue;
    if (n <= upto) unlinkat(dirfd(d), e->d_name, 0);
    else if (n > max) max = n;
  }
  closedir(d);
  return max;
}

static void open_log(void) {
  if (log_seq < 0) log_seq = sweep_rotated(-1);
  log_fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  struct stat st;
  log_size = (log_fd >= 0 && fstat(log_fd, &st) == 0) ? st.st_size : 0;
}

// log → log.<N+1>, a name it keeps for good, so a reader can go from one file to the next;
// only the newest K-1 rotated files are kept.
static void rotate(void) {
  if (log_fd >= 0) close(log_fd);
  if (log_files <= 1) {
    unlink(log_path);
  } else {
    char to[PATH_MAX];
    snprintf(to, sizeof to, "%s.%lld", log_path, ++log_seq);
    rename(log_path, to);
    sweep_rotated(log_seq - (log_files - 1));
  }
  open_log();
}

// The records of a whole read, gathered and written to the log at once.
static char batch[2 * READ_BLOCK];
static size_t batch_len;
static char head[96]; // "<time> <stream> " of the records being gathered
static size_t head_len;

static void flush_batch(void) {
  if (batch_len > 0 && log_fd >= 0) { // Unwritable log: keep draining so the workload never blocks.
    ssize_t w = write(log_fd, batch, batch_len);
    if (w > 0) log_size += w;
  }
  batch_len = 0;
}

// One clock read for all the records of a read.
static void stamp(const struct stream *s) {
  char ts[64];
  now_rfc3339(ts, sizeof ts);
  head_len = snprintf(head, sizeof head, "%s %s ", ts, s->name);
}

// One CRI record "<time> <stream> <F|P> <content>\n" whose content is a then b; rotates before a record that would overflow.
static void record(const char *a, size_t alen, const char *b, size_t blen, char tag) {
  size_t total = head_len + 2 + alen + blen + 1;
  if (batch_len + total > sizeof batch) flush_batch();
  if (log_size + (off_t)batch_len > 0 && log_size + (off_t)(batch_len + total) > log_max) {
    flush_batch();
    rotate();
  }
  char *p = batch + batch_len;
  memcpy(p, head, head_len);
  p += head_len;
  *p++ = tag;
  *p++ = ' ';
  memcpy(p, a, alen);
  memcpy(p + alen, b, blen);
  p[alen + blen] = '\n';
  batch_len += total;
}

// Logs a read: each complete line as an F record, and a P record whenever a line reaches MAX_LINE
// unterminated; the unterminated rest waits in s->buf.
static void log_chunk(struct stream *s, const char *data, size_t n) {
  stamp(s);
  size_t pos = 0;
  while (pos < n) {
    const char *nl = memchr(data + pos, '\n', n - pos);
    size_t end = nl != NULL ? (size_t)(nl - data) : n;
    while (s->len + (end - pos) >= MAX_LINE) {
      size_t take = MAX_LINE - s->len;
      record(s->buf, s->len, data + pos, take, 'P');
      s->len = 0;
      pos += take;
    }
    if (nl == NULL) {
      memcpy(s->buf + s->len, data + pos, end - pos);
      s->len += end - pos;
      break;
    }
    record(s->buf, s->len, data + pos, end - pos, 'F');
    s->len = 0;
    pos = end + 1;
  }
  flush_batch();
}

static void flush_partial(struct stream *s) {
  if (s->len == 0) return;
  stamp(s);
  record(s->buf, s->len, "", 0, 'P');
  s->len = 0;
  flush_batch();
}

// The attach connection and the frames ([stream][u32 big-endian length][bytes]) it has not taken yet.
// While frames wait, the workload's pipes are not read: they fill and the workload waits, as on a pipe.
static int attach_fd = -1;
static char *outq;
static size_t outq_len, outq_off, outq_cap;

// Where the reader connects: a listening socket, and the names to remove once it has connected.
struct attach_point {
  int listener, dir;
  char path[PATH_MAX];
};

// Listens at `path` for the reader, before the workload starts. Bound under a temporary name and
// renamed once listening, so a reader that sees the name can connect. Returns -1 in `listener` when
// it cannot listen (the run then goes to the log alone).
static void attach_listen(const char *path, struct attach_point *ap) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  char tmp[PATH_MAX + 8];
  const char *slash = strrchr(path, '/');
  ap->listener = ap->dir = -1;
  if (strlen(path) >= sizeof sa.sun_path && slash != NULL) { // too long for an address: go through the directory
    snprintf(ap->path, sizeof ap->path, "%.*s", (int)(slash - path), path);
    ap->dir = open(ap->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    snprintf(ap->path, sizeof ap->path, "/proc/self/fd/%d%s", ap->dir, slash);
  } else {
    snprintf(ap->path, sizeof ap->path, "%s", path);
  }
  snprintf(tmp, sizeof tmp, "%s.tmp", ap->path);
  if (strlen(tmp) >= sizeof sa.sun_path) return;
  memcpy(sa.sun_path, tmp, strlen(tmp) + 1);
  ap->listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (ap->listener >= 0 && (bind(ap->listener, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(ap->listener, 1) != 0 || rename(tmp, ap->path) != 0)) {
    close(ap->listener);
    ap->listener = -1;
  }
  unlink(tmp);
}

// Waits for the reader to connect. The workload already runs, but nothing of its output is read
// before this returns: the pipes hold it, and the workload waits once they are full, so the reader
// misses nothing. Returns the connection, or -1 when the reader did not come.
static int attach_accept(struct attach_point *ap) {
  int fd = -1;
  struct pollfd p = {ap->listener, POLLIN, 0};
  if (ap->listener >= 0 && poll(&p, 1, ATTACH_WAIT_MS) == 1) fd = accept4(ap->listener, NULL, NULL, SOCK_CLOEXEC);
  if (ap->listener >= 0) {
    unlink(ap->path);
    close(ap->listener);
  }
  if (ap->dir >= 0) close(ap->dir);
  if (fd < 0) return -1;
  int size = PIPE_BYTES;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  fcntl(fd, F_SETFL, O_NONBLOCK);
  return fd;
}

// The reader's input, frames of [kind][u32 big-endian length][bytes]: 1 stdin bytes, 2 the end of stdin (empty),
// 3 a window size (u16 rows, u16 columns). One block is read off the connection only once the one before is
// written: a reader faster than the workload waits on its socket, and the monitor holds INPUT_BLOCK at most.
#define INPUT_BLOCK (64 * 1024)
static int in_fd = -1; // the workload's stdin pipe, or its terminal's master; -1 when it takes no more
static int in_tty;     // in_fd is the terminal: it stays open (for the workload's sake) until the workload ends
static int in_end;     // the reader has ended its input: the pipe closes once what is queued is written
static char inq[INPUT_BLOCK];
static size_t inq_len, inq_off;
static unsigned char in_head[5], in_ctl[4];
static size_t in_head_got, in_ctl_got;
static uint32_t in_left;

// No more input: a pipe is closed, so the workload reads its end (docker run -i when the client goes).
static void input_stop(void) {
  if (in_fd >= 0 && !in_tty) {
    close(in_fd);
    in_fd = -1;
  }
  inq_len = inq_off = 0;
}

// The reader has gone: the log carries on alone; the workload's stdin ends, its terminal stays.
static void attach_drop(void) {
  if (attach_fd >= 0) close(attach_fd);
  attach_fd = -1;
  outq_len = outq_off = 0;
  input_stop();
}

// Writes what the workload takes of the queued input without blocking.
static void input_flush(void) {
  while (in_fd >= 0 && inq_off < inq_len) {
    ssize_t w = write(in_fd, inq + inq_off, inq_len - inq_off);
    if (w > 0) inq_off += w;
    else if (w < 0 && errno == EINTR) continue;
    else if (w < 0 && errno == EAGAIN) return;
    else input_stop(); // the workload closed its stdin: the rest is dropped
  }
  inq_len = inq_off = 0;
  if (in_end) input_stop();
}

// The terminal takes the reader's size; the kernel tells the workload with SIGWINCH.
static void input_resize(void) {
  struct winsize ws = {.ws_row = (unsigned short)(in_ctl[0] << 8 | in_ctl[1]), .ws_col = (unsigned short)(in_ctl[2] << 8 | in_ctl[3])};
  if (in_tty && in_fd >= 0) ioctl(in_fd, TIOCSWINSZ, &ws);
}

// Cuts the reader's frames out of one read, however the read cut them; -1 for a frame no reader sends.
static int input_parse(const unsigned char *p, size_t n) {
  while (n > 0) {
    if (in_head_got < 5) {
      size_t k = 5 - in_head_got < n ? 5 - in_head_got : n;
      memcpy(in_head + in_head_got, p, k);
      in_head_got += k;
      p += k;
      n -= k;
      if (in_head_got < 5) break;
      in_left = (uint32_t)in_head[1] << 24 | (uint32_t)in_head[2] << 16 | (uint32_t)in_head[3] << 8 | in_head[4];
      in_ctl_got = 0;
      if (in_head[0] < 1 || in_head[0] > 3 || (in_head[0] == 2 && in_left != 0) || (in_head[0] == 3 && in_left != 4)) return -1;
      if (in_head[0] == 2) in_end = 1;
    }
    size_t k = in_left < n ? in_left : n;
    if (in_head[0] == 1 && in_fd >= 0 && !in_end) memcpy(inq + inq_len, p, k), inq_len += k;
    if (in_head[0] == 3) memcpy(in_ctl + in_ctl_got, p, k), in_ctl_got += k;
    p += k;
    n -= k;
    in_left -= k;
    if (in_left > 0) break;
    if (in_head[0] == 3) input_resize();
    in_head_got = 0;
  }
  return 0;
}

// Reads one block of the reader's input and passes it on; a reader gone, or speaking out of turn, is dropped.
static void input_take(void) {
  static unsigned char block[INPUT_BLOCK];
  ssize_t n;
  do n = read(attach_fd, block, sizeof block); while (n < 0 && errno == EINTR);
  if (n < 0 && errno == EAGAIN) return;
  if (n <= 0 || input_parse(block, n) < 0) {
    attach_drop();
    return;
  }
  input_flush();
}

// Listens where the OCI runtime hands over the container's terminal (--console-socket), before it runs.
static int console_listen(const char *path) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path) die("the console socket's path is too long: %s", path);
  memcpy(sa.sun_path, path, strlen(path) + 1);
  unlink(path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 1) != 0) die("cannot listen on %s: %s", path, strerror(errno));
  return fd;
}

// The terminal's master that the runtime sent before it exited (it is queued on its connection); -1 when none came.
static int console_take(int listener) {
  int c = accept4(listener, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (c < 0) return -1;
  char name[PATH_MAX];
  union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } control;
  struct iovec iov = {name, sizeof name};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof control.buf};
  ssize_t n = recvmsg(c, &m, MSG_CMSG_CLOEXEC);
  close(c);
  struct cmsghdr *h = n < 0 ? NULL : CMSG_FIRSTHDR(&m);
  if (h == NULL || h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(h), sizeof fd);
  return fd;
}

// Room for n more bytes at the end of the queue.
static char *attach_reserve(size_t n) {
  if (outq_off > 0) {
    memmove(outq, outq + outq_off, outq_len - outq_off);
    outq_len -= outq_off;
    outq_off = 0;
  }
  if (outq_len + n > outq_cap) {
    size_t cap = outq_cap == 0 ? n : outq_cap;
    while (cap < outq_len + n) cap *= 2;
    char *grown = realloc(outq, cap);
    if (grown == NULL) die("out of memory");
    outq = grown;
    outq_cap = cap;
  }
  return outq + outq_len;
}

// Writes what the connection takes without blocking.
static void attach_flush(void) {
  while (attach_fd >= 0 && outq_off < outq_len) {
    ssize_t w = send(attach_fd, outq + outq_off, outq_len - outq_off, MSG_NOSIGNAL);
    if (w > 0) outq_off += w;
    else if (w < 0 && errno == EINTR) continue;
    else if (w < 0 && errno == EAGAIN) return;
    else attach_drop();
  }
  outq_len = outq_off = 0;
}

// Reads one block of a stream into the log and, when attached, into the attach queue.
// Returns the bytes read, 0 at EOF (the stream is then closed), -1 when nothing is there.
static ssize_t take(struct stream *s) {
  static char plain[READ_BLOCK];
  char *dst = attach_fd >= 0 ? attach_reserve(5 + READ_BLOCK) + 5 : plain;
  ssize_t n;
  do n = read(s->fd, dst, READ_BLOCK); while (n < 0 && errno == EINTR);
  if (n < 0 && errno == EAGAIN) return -1;
  if (n <= 0) {
    flush_partial(s);
    close(s->fd);
    s->fd = -1;
    return 0;
  }
  log_chunk(s, dst, n);
  if (attach_fd >= 0) {
    dst[-5] = (char)s->id;
    for (int b = 0; b < 4; b++) dst[-4 + b] = (char)((uint32_t)n >> (24 - 8 * b));
    outq_len += 5 + n;
  }
  return n;
}

// Reads what is there while the attach connection keeps up; a few blocks at most, so signals are not starved.
static void pump(struct stream *s) {
  for (int i = 0; i < 4 && s->fd >= 0 && outq_len == 0; i++) {
    if (take(s) < 0) return;
    attach_flush();
  }
}

// After the workload's exit: what it left in a pipe, without waiting for grandchildren that hold it open.
static void drain(struct stream *s) {
  ssize_t n;
  for (size_t got = 0; s->fd >= 0 && got < 2 * PIPE_BYTES; got += n) {
    if ((n = take(s)) <= 0) break;
  }
  flush_partial(s);
  if (s->fd >= 0) close(s->fd);
  s->fd = -1;
}

static void json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = *s;
    if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
    else if (c < 0x20) fprintf(f, "\\u%04x", c);
    else fputc(c, f);
  }
  fputc('"', f);
}

static const char *signame(int sig, char *buf, size_t n) {
  static const char *names[] = {
    NULL, "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE",
    "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT",
    "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU",
    "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS"};
  if (sig > 0 && sig < 32) return names[sig];
  snprintf(buf, n, "SIG%d", sig);
  return buf;
}

// Takes the room the exit file will need, before the workload starts: `<path>.tmp` of EXIT_RESERVE
// bytes, which write_exit writes over in place, so the exit is recorded even on a disk full by then.
// Returns the error message on failure (a full disk named by the exit file's directory), else NULL.
static const char *reserve_exit(const char *path, char *msg, size_t n) {
  char tmp[PATH_MAX], spaces[EXIT_RESERVE];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  unlink(path); // a stale exit of an earlier daemon's run with this number
  memset(spaces, ' ', sizeof spaces);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ssize_t w = fd < 0 ? -1 : write(fd, spaces, sizeof spaces);
  int err = w < 0 ? errno : ENOSPC; // a short write means the disk filled up
  if (fd >= 0) close(fd);
  if (w == (ssize_t)sizeof spaces) return NULL;
  unlink(tmp);
  const char *slash = strrchr(path, '/');
  if (err == ENOSPC || err == EDQUOT) snprintf(msg, n, "no space left on %.*s", slash == NULL ? 1 : (int)(slash - path), slash == NULL ? "." : path);
  else snprintf(msg, n, "cannot reserve the exit file %s: %s", tmp, strerror(err));
  return msg;
}

// Writes the exit file atomically: the daemon must never read half of one. It writes over the
// `<path>.tmp` that reserve_exit made, so it needs no new space on a full disk. `failed_at` names the
// runtime's step (run) that failed before the workload's process ran, NULL when it ran.
static void write_exit(const char *path, int status, const char *error, const char *failed_at) {
  char tmp[PATH_MAX], ts[64], sigbuf[16];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
  if (f == NULL) return;
  now_rfc3339(ts, sizeof ts);
  if (error != NULL) {
    fprintf(f, "{\"exitCode\":127,\"signal\":null,\"finishedAt\":\"%s\",\"error\":", ts);
    json_string(f, error);
    fputc('}', f);
  } else if (WIFSIGNALED(status)) {
    fprintf(f, "{\"exitCode\":null,\"signal\":\"%s\",\"finishedAt\":\"%s\"}",
            signame(WTERMSIG(status), sigbuf, sizeof sigbuf), ts);
  } else if (failed_at != NULL) {
    fprintf(f, "{\"exitCode\":%d,\"signal\":null,\"finishedAt\":\"%s\",\"failedAt\":\"%s\"}", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), ts, failed_at);
  } else {
    fprintf(f, "{\"exitCode\":%d,\"signal\":null,\"finishedAt\":\"%s\"}", WEXITSTATUS(status), ts);
  }
  fflush(f);
  if (ftruncate(fd, ftell(f)) != 0) {}
  fsync(fd);
  fclose(f);
  rename(tmp, path);
}

// A container's root: an overlay mounted at `target` for the run and let go when it ends.
struct overlay {
  const char *target;
  const char *options;
};

// A host path shown at `dst` in an executable's mount namespace.
struct bind {
  const char *src;
  const char *dst;
  int ro;
};

// An executable's view of the filesystem: paths hidden, then paths shown on purpose.
struct view {
  char **hides;
  int nh;
  struct bind *binds;
  int nb;
};

// In the child: says why the workload cannot start (to the monitor, through report_fd) and ends.
static void child_fail(int report_fd, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (n > (int)sizeof msg - 1) n = sizeof msg - 1;
  if (write(report_fd, msg, n) < 0) {}
  _exit(127);
}

// A tmpfs attached nowhere yet, mode 000: nothing on it can be run, opened as a device or set-uid.
static int detached_tmpfs(void) {
  int fs = fsopen("tmpfs", FSOPEN_CLOEXEC), mnt = -1;
  if (fs < 0) return -1;
  if (fsconfig(fs, FSCONFIG_SET_STRING, "mode", "0", 0) == 0 && fsconfig(fs, FSCONFIG_SET_STRING, "size", "64k", 0) == 0 &&
      fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0) {
    mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
  }
  close(fs);
  return mnt;
}

static int set_readonly(int mnt, int recursive) {
  struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
  return mount_setattr(mnt, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof attr);
}

static int write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC), ok = 0;
  if (fd >= 0) ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
  if (fd >= 0) close(fd);
  return ok ? 0 : -1;
}

// A bind's target that does not exist is made only inside a hidden directory (an empty tmpfs here),
// never on the host's own filesystem; that directory then lets the workload pass through to it.
static int make_target(const char *path, int dir, const struct view *v) {
  struct stat st;
  if (stat(path, &st) == 0) return 0;
  const char *inside = NULL;
  for (int k = 0; k < v->nh; k++) {
    size_t n = strlen(v->hides[k]);
    if (strncmp(path, v->hides[k], n) == 0 && path[n] == '/') inside = v->hides[k];
  }
  if (inside == NULL) return -1;
  char buf[PATH_MAX];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + strlen(inside) + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  if (chmod(inside, 0111) != 0) return -1;
  if (dir) return mkdir(buf, 0755) == 0 || errno == EEXIST ? 0 : -1;
  int fd = open(buf, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  close(fd);
  return 0;
}

// As systemd's InaccessiblePaths= and BindPaths=: a mount namespace of the workload's own, in which
// each hidden directory is an empty read-only tmpfs and each hidden file a device node that nothing
// may open (0:0 on a nodev mount), then the binds asked for. Nothing propagates back to the host.
// A non-root daemon's workload gets a user namespace mapping only its own ids, and no capabilities
// in it once it execs.
static void confine(int report_fd, const struct view *v) {
  if (v->nh == 0 && v->nb == 0) return;
  uid_t uid = geteuid();
  gid_t gid = getegid();
  if (unshare(CLONE_NEWNS | (uid != 0 ? CLONE_NEWUSER : 0)) != 0) child_fail(report_fd, "cannot make the workload's mount namespace: %s", strerror(errno));
  if (uid != 0) {
    char map[64];
    snprintf(map, sizeof map, "%u %u 1\n", uid, uid);
    int bad = write_file("/proc/self/uid_map", map) || write_file("/proc/self/setgroups", "deny");
    snprintf(map, sizeof map, "%u %u 1\n", gid, gid);
    if (bad || write_file("/proc/self/gid_map", map)) child_fail(report_fd, "cannot map the workload's user: %s", strerror(errno));
  }
  if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) != 0) child_fail(report_fd, "cannot make the workload's mounts private: %s", strerror(errno));
  int src[v->nb + 1], dirs[v->nh + 1], nd = 0;
  for (int k = 0; k < v->nb; k++) {
    // Taken before anything is hidden, so a hidden path can still be shown on purpose.
    src[k] = open_tree(AT_FDCWD, v->binds[k].src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
    if (src[k] < 0 || (v->binds[k].ro && set_readonly(src[k], 1) != 0)) child_fail(report_fd, "cannot bind %s: %s", v->binds[k].src, strerror(errno));
  }
  int nodes = detached_tmpfs();
  if (nodes < 0 || mknodat(nodes, "node", S_IFCHR, makedev(0, 0)) != 0 || set_readonly(nodes, 0) != 0) {
    child_fail(report_fd, "cannot make an inaccessible node: %s", strerror(errno));
  }
  for (int k = 0; k < v->nh; k++) {
    struct stat st;
    if (stat(v->hides[k], &st) != 0) {
      if (errno == ENOENT) continue;
      child_fail(report_fd, "cannot hide %s: %s", v->hides[k], strerror(errno));
    }
    int dir = S_ISDIR(st.st_mode);
    int m = dir ? detached_tmpfs() : open_tree(nodes, "node", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (m < 0 || move_mount(m, "", AT_FDCWD, v->hides[k], MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_SYMLINKS) != 0) {
      child_fail(report_fd, "cannot hide %s: %s", v->hides[k], strerror(errno));
    }
    if (dir) dirs[nd++] = m;
    else close(m);
  }
  for (int k = 0; k < v->nb; k++) {
    struct stat st;
    if (fstat(src[k], &st) != 0 || make_target(v->binds[k].dst, S_ISDIR(st.st_mode), v) != 0 ||
        move_mount(src[k], "", AT_FDCWD, v->binds[k].dst, MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_SYMLINKS) != 0) {
      child_fail(report_fd, "cannot bind %s at %s: %s", v->binds[k].src, v->binds[k].dst, strerror(errno));
    }
    close(src[k]);
  }
  for (int k = 0; k < nd; k++) {
    if (set_readonly(dirs[k], 0) != 0) child_fail(report_fd, "cannot make a hidden path read-only: %s", strerror(errno));
    close(dirs[k]);
  }
  close(nodes);
}

// In the child: join the cgroups, mount the root, make its view, then exec. Any failure goes to the parent through report_fd.
static void start_child(int tty, int in_child, int out_fd, int err_fd_pipe, int report_fd, char **cgroups, int ncg,
                        const struct overlay *ov, const struct view *view, const char *workdir, char **argv) {
  // On a terminal of its own it leads a session, the terminal its controlling one (Ctrl-C, a hangup, SIGWINCH).
  if (tty && (setsid() < 0 || ioctl(in_child, TIOCSCTTY, 0) != 0)) child_fail(report_fd, "cannot take the terminal: %s", strerror(errno));
  if (!tty) setpgid(0, 0);
  if (ov->target != NULL && mount("overlay", ov->target, "overlay", 0, ov->options) != 0) {
    child_fail(report_fd, "cannot mount the container's root: %s", strerror(errno));
  }
  for (int i = 0; i < ncg; i++) {
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%d", getpid());
    int fd = open(cgroups[i], O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, pid, len) != len) child_fail(report_fd, "cgroup \"%s\": %s", cgroups[i], strerror(errno));
    close(fd);
  }
  // Workloads make files others may read, as a login shell would; the daemon's own umask is 077.
  umask(022);
  confine(report_fd, view);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  for (int s = 1; s < NSIG; s++) signal(s, SIG_DFL);
  if (workdir != NULL && chdir(workdir) != 0) child_fail(report_fd, "chdir \"%s\": %s", workdir, strerror(errno));
  int devnull = open("/dev/null", O_RDONLY);
  dup2(in_child >= 0 ? in_child : devnull, 0);
  dup2(out_fd, 1);
  dup2(err_fd_pipe, 2);
  // Every other descriptor goes, in two calls (a thousand close()s took a quarter of a millisecond).
  if (close_range(3, report_fd - 1, 0) != 0 || close_range(report_fd + 1, ~0U, 0) != 0) {
    for (int fd = 3; fd < 1024; fd++) if (fd != report_fd) close(fd);
  }
  execvp(argv[0], argv);
  child_fail(report_fd, "exec \"%s\": %s", argv[0], strerror(errno));
}

// Runs `argv` with no input or output and waits for it; its status, or -1 when it could not run.
static int run_quietly(char **argv, const char *workdir) {
  pid_t pid = fork();
  if (pid == 0) {
    int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, 0);
    dup2(devnull, 1);
    dup2(devnull, 2);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (workdir != NULL && chdir(workdir) != 0) _exit(127);
    execvp(argv[0], argv);
    _exit(127);
  }
  int st;
  if (pid < 0) return -1;
  while (waitpid(pid, &st, 0) < 0) if (errno != EINTR) return -1;
  return st;
}

// After the runtime (our child `runtime`) has exited: reads the container process's PID, which is our child now (we
// are a subreaper), and takes the container's terminal the runtime handed over on `console`. The runtime's `run
// --detach` has started the process; its `create` has only made it, and `start` (with --start) then starts it, once
// its terminal is ours. Returns that PID; on failure 0, with the failing step's status, and no container process left.
static pid_t adopt(pid_t runtime, const char *pid_file, int console, char **start_argv, const char *workdir, int *st) {
  while (waitpid(runtime, st, 0) < 0) {
    if (errno != EINTR) { *st = 1 << 8; return 0; }
  }
  if (!WIFEXITED(*st) || WEXITSTATUS(*st) != 0) return 0;
  char buf[32] = {0};
  int fd = open(pid_file, O_RDONLY | O_CLOEXEC);
  ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
  if (fd >= 0) close(fd);
  pid_t init = n > 0 ? (pid_t)atoi(buf) : 0;
  // A PID that is not our child (a runtime that reaped it itself) could never be waited for.
  siginfo_t si;
  if (init <= 0 || waitid(P_PID, init, &si, WEXITED | WNOHANG | WNOWAIT) != 0) {
    *st = 1 << 8;
    return 0;
  }
  // A terminal the runtime made is ours to keep: the container's process runs on it.
  if (console >= 0) {
    if ((in_fd = console_take(console)) < 0) {
      *st = 1 << 8;
      kill(init, SIGKILL);
      waitpid(init, NULL, 0);
      return 0;
    }
    in_tty = 1;
  }
  if (start_argv[0] == NULL) return init;
  *st = run_quietly(start_argv, workdir);
  if (*st == 0) return init;
  if (*st < 0) *st = 1 << 8;
  kill(init, SIGKILL);
  waitpid(init, NULL, 0);
  return 0;
}

// Runs one workload to its end. `id` is set when a launcher forked us: status then goes to stdout.
static int monitor_main(int argc, char **argv, const char *id) {
  const char *exit_path = NULL, *workdir = NULL, *attach_path = NULL, *pid_file = NULL, *console_path = NULL, *stdin_mode = NULL;
  char **start_argv = calloc(argc, sizeof(char *));
  int nstart = 0;
  struct overlay ov = {NULL, NULL};
  struct view view = {calloc(argc, sizeof(char *)), 0, calloc(argc, sizeof(struct bind)), 0};
  char *cgroups[MAX_CGROUPS];
  int ncg = 0, status_fd = -1, i;
  if (view.hides == NULL || view.binds == NULL || start_argv == NULL) die("out of memory");
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) { i++; break; }
    if (i + 1 >= argc) die("%s needs a value", a);
    if (strcmp(a, "--bind") == 0 || strcmp(a, "--bind-ro") == 0) {
      if (i + 2 >= argc) die("%s needs a source and a target", a);
      view.binds[view.nb++] = (struct bind){argv[i + 1], argv[i + 2], strcmp(a, "--bind-ro") == 0};
      i += 2;
      continue;
    }
    if (strcmp(a, "--exit-file") == 0) exit_path = argv[++i];
    else if (strcmp(a, "--log") == 0) log_path = argv[++i];
    else if (strcmp(a, "--log-max-bytes") == 0) log_max = atoll(argv[++i]);
    else if (strcmp(a, "--log-files") == 0) log_files = atoi(argv[++i]);
    else if (strcmp(a, "--workdir") == 0) workdir = argv[++i];
    else if (strcmp(a, "--status-fd") == 0) status_fd = atoi(argv[++i]);
    else if (strcmp(a, "--overlay") == 0) ov.target = argv[++i];
    else if (strcmp(a, "--overlay-options") == 0) ov.options = argv[++i];
    else if (strcmp(a, "--hide") == 0) view.hides[view.nh++] = argv[++i];
    else if (strcmp(a, "--attach") == 0) attach_path = argv[++i];
    else if (strcmp(a, "--pid-file") == 0) pid_file = argv[++i];
    else if (strcmp(a, "--console-socket") == 0) console_path = argv[++i];
    else if (strcmp(a, "--stdin") == 0) stdin_mode = argv[++i];
    else if (strcmp(a, "--start") == 0) start_argv[nstart++] = argv[++i];
    else if (strcmp(a, "--cgroup-procs") == 0) {
      if (ncg == MAX_CGROUPS) die("too many --cgroup-procs");
      cgroups[ncg++] = argv[++i];
    } else die("unknown option %s", a);
  }
  if (exit_path == NULL || log_path == NULL || i >= argc || (ov.target == NULL) != (ov.options == NULL) ||
      (console_path != NULL && pid_file == NULL) || (nstart > 0 && pid_file == NULL) || (stdin_mode != NULL && strcmp(stdin_mode, "pipe") != 0 && strcmp(stdin_mode, "tty") != 0) ||
      (console_path != NULL && stdin_mode != NULL)) {
    die("usage: aurae-monitor --exit-file PATH --log PATH [--log-max-bytes N] [--log-files K] "
        "[--cgroup-procs PATH]... [--overlay DIR --overlay-options OPTS] [--hide PATH]... "
        "[--bind[-ro] SRC DST]... [--workdir DIR] [--status-fd N] [--attach SOCKET] "
        "[--pid-file PATH [--console-socket PATH] [--start ARG...]] [--stdin pipe|tty] -- CMD [ARGS...]");
  }
  if (log_max < 256) log_max = 256;
  if (log_files < 1) log_files = 1;

  if (id != NULL) status_fd = 1;
  signal(SIGPIPE, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGTERM);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

  char refused[PATH_MAX + 64];
  if (reserve_exit(exit_path, refused, sizeof refused) != NULL) {
    report_status(status_fd, id, 0, refused, 0);
    return 2;
  }
  struct attach_point ap = {-1, -1, ""};
  if (attach_path != NULL) attach_listen(attach_path, &ap);
  int out[2], err[2], rep[2], in[2] = {-1, -1};
  if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC) || pipe2(rep, O_CLOEXEC)) die("pipe: %s", strerror(errno));
  // Room for a burst while this process is not scheduled: a VM's output comes through qemu, which holds back what a
  // full pipe refuses and would lose it if the guest powered off meanwhile. Pages are taken only as they fill.
  fcntl(out[1], F_SETPIPE_SZ, 1 << 20);
  fcntl(err[1], F_SETPIPE_SZ, 1 << 20);
  int own_tty = stdin_mode != NULL && strcmp(stdin_mode, "tty") == 0;
  if (stdin_mode != NULL && !own_tty && pipe2(in, O_CLOEXEC) != 0) die("pipe: %s", strerror(errno));
  if (own_tty) { // in[1] the master, which the monitor keeps; in[0] the terminal the workload gets
    in[1] = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    const char *pts = in[1] < 0 || grantpt(in[1]) != 0 || unlockpt(in[1]) != 0 ? NULL : ptsname(in[1]);
    if (pts == NULL || (in[0] = open(pts, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) die("cannot open a terminal: %s", strerror(errno));
    in_tty = 1;
  }
  int console = console_path == NULL ? -1 : console_listen(console_path);
  if (attach_path != NULL) { // room for what the workload writes before its reader comes, and larger reads after
    fcntl(out[0], F_SETPIPE_SZ, PIPE_BYTES);
    fcntl(err[0], F_SETPIPE_SZ, PIPE_BYTES);
  }
  pid_t child = fork();
  if (child < 0) die("fork: %s", strerror(errno));
  if (child == 0) start_child(own_tty, in[0], own_tty ? in[0] : out[1], own_tty ? in[0] : err[1], rep[1], cgroups, ncg, &ov, &view, workdir, argv + i);
  if (in[0] >= 0) close(in[0]);
  in_fd = in[1];
  close(out[1]);
  close(err[1]);
  close(rep[1]);
  if (!own_tty) setpgid(child, child); // also in the parent, so the group exists before anyone signals it

  char failure[512];
  ssize_t n, got = 0;
  while ((n = read(rep[0], failure + got, sizeof failure - 1 - got)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) got += n;
  }
  failure[got] = '\0';
  close(rep[0]);
  if (pid_file != NULL && got == 0) {
    int st;
    pid_t init = adopt(child, pid_file, console, start_argv, workdir, &st);
    if (console >= 0) {
      close(console);
      unlink(console_path);
    }
    if (init <= 0) {
      // What the runtime said on its way out is its own (its log has it), never the workload's output.
      close(out[0]);
      close(err[0]);
      if (ov.target != NULL) umount2(ov.target, MNT_DETACH);
      write_exit(exit_path, st, NULL, "run");
      report_status(status_fd, id, child, "the runtime could not start the container", 1);
      while (waitpid(-1, NULL, WNOHANG) > 0) {}
      return 0;
    }
    child = init;
  }
  report_status(status_fd, id, child, got > 0 ? failure : NULL, 1);
  open_log();
  if (attach_path != NULL) attach_fd = attach_accept(&ap);
  if (attach_fd < 0) input_stop(); // no reader came: the workload's stdin ends at once

  struct stream streams[2] = {{"stdout", out[0], 1, {0}, 0}, {"stderr", err[0], 2, {0}, 0}};
  if (in_tty) { // the terminal carries all of the container's output; the pipes only what the runtime said
    close(out[0]);
    streams[0].fd = fcntl(in_fd, F_DUPFD_CLOEXEC, 3);
  }
  for (int k = 0; k < 2; k++) fcntl(streams[k].fd, F_SETFL, O_NONBLOCK);
  if (in_fd >= 0) fcntl(in_fd, F_SETFL, O_NONBLOCK);
  int child_status = 0, child_done = 0;
  while (!child_done) {
    int behind = outq_len > 0; // the caller has not taken the last block: leave the pipes full
    int typing = inq_off < inq_len; // input the workload has not taken yet: no more is read
    short listen_in = in_fd >= 0 && !typing ? POLLIN : 0;
    struct pollfd fds[5] = {{sfd, POLLIN, 0}, {behind ? -1 : streams[0].fd, POLLIN, 0},
                            {behind ? -1 : streams[1].fd, POLLIN, 0}, {attach_fd, (behind ? POLLOUT : 0) | listen_in, 0},
                            {typing ? in_fd : -1, POLLOUT, 0}};
    int pending = streams[0].len > 0 || streams[1].len > 0;
    int r = poll(fds, 5, pending ? FLUSH_MS : -1);
    if (r < 0 && errno != EINTR) break;
    if (r == 0) { // quiet for a while: show partial lines such as prompts
      flush_partial(&streams[0]);
      flush_partial(&streams[1]);
      continue;
    }
    if (fds[4].revents & (POLLOUT | POLLERR | POLLHUP)) input_flush();
    if (fds[3].revents & POLLIN) input_take();
    if (fds[3].revents & (POLLERR | POLLHUP)) attach_drop();
    else if (fds[3].revents & POLLOUT) attach_flush();
    for (int k = 0; k < 2; k++) {
      if (streams[k].fd >= 0 && (fds[k + 1].revents & (POLLIN | POLLHUP | POLLERR))) pump(&streams[k]);
    }
    if (fds[0].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGTERM) kill(-child, SIGTERM);
      }
      int st;
      pid_t p;
      while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
        if (p == child) { child_status = st; child_done = 1; }
      }
    }
  }
  for (int k = 0; k < 2; k++) drain(&streams[k]);
  if (in_fd >= 0) close(in_fd);
  in_fd = -1;
  // The runtime has ended and its container with it: the root goes before anyone hears of the exit.
  if (ov.target != NULL) umount2(ov.target, MNT_DETACH);
  write_exit(exit_path, child_status, got > 0 ? failure : NULL, NULL);
  // The exit is recorded; the caller still gets the rest of the output, then the end of the connection.
  while (attach_fd >= 0 && outq_len > 0) {
    struct pollfd p = {attach_fd, POLLOUT, 0};
    if (poll(&p, 1, -1) < 0 && errno != EINTR) break;
    if (p.revents & (POLLERR | POLLHUP)) attach_drop();
    else attach_flush();
  }
  if (attach_fd >= 0) close(attach_fd);
  while (waitpid(-1, NULL, WNOHANG) > 0) {}
  return 0;
}

// One line on the status fd, in a single write so lines from many monitors never interleave:
// `[<id> ]{"pid":N,"monitor":M}` or `[<id> ]{"error":"..."}`. With `release` the pipe is let go after.
static void report_status(int fd, const char *id, pid_t child, const char *error, int release) {
  if (fd < 0) return;
  char line[1024];
  int n = 0;
  if (id != NULL) n = snprintf(line, sizeof line, "%s ", id);
  if (error != NULL) {
    n += snprintf(line + n, sizeof line - n, "{\"error\":\"");
    for (const char *p = error; *p && n < (int)sizeof line - 8; p++) {
      unsigned char c = *p;
      if (c == '"' || c == '\\') { line[n++] = '\\'; line[n++] = c; }
      else if (c >= 0x20) line[n++] = c;
    }
    n += snprintf(line + n, sizeof line - n, "\"");
    if (child > 0) n += snprintf(line + n, sizeof line - n, ",\"monitor\":%d", getpid());
    n += snprintf(line + n, sizeof line - n, "}\n");
  } else {
    n += snprintf(line + n, sizeof line - n, "{\"pid\":%d,\"monitor\":%d}\n", child, getpid());
  }
  if (write(fd, line, n) < 0) {}
  if (!release) return;
  int devnull = open("/dev/null", O_WRONLY);
  dup2(devnull, fd); // let go of the status pipe, keep the fd number taken
  close(devnull);
}

static int read_full(int fd, void *buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = read(fd, (char *)buf + got, len - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    got += n;
  }
  return 0;
}

// An id fit to answer with: the daemon's ids are short decimal numbers.
static const char *answerable(const char *id) {
  size_t n = strnlen(id, 32);
  if (n == 0 || n == 32 || strspn(id, "0123456789") != n) return "0";
  return id;
}

// Reads and drops a request too large to hold, keeping the start of its id to answer with.
static int discard(uint32_t len, char *id, size_t idsz) {
  char chunk[65536];
  id[0] = '\0';
  for (uint32_t got = 0; got < len;) {
    size_t want = len - got < sizeof chunk ? len - got : sizeof chunk;
    if (read_full(0, chunk, want) < 0) return -1;
    if (got == 0) snprintf(id, idsz, "%.*s", (int)strnlen(chunk, want < idsz - 1 ? want : idsz - 1), chunk);
    got += want;
  }
  return 0;
}

// Splits a request into its strings; NULL (and *n = -1) unless it is id, argc, argv..., envc, env....
static char **parse_request(char *buf, uint32_t len, int *argc, int *envc) {
  size_t count = 0;
  for (uint32_t i = 0; i < len; i++) if (buf[i] == '\0') count++;
  if (count < 3 || len == 0 || buf[len - 1] != '\0') return NULL;
  char **strs = malloc(count * sizeof *strs);
  if (strs == NULL) return NULL;
  size_t n = 0;
  for (char *p = buf; p < buf + len; p += strlen(p) + 1) strs[n++] = p;
  char *end;
  long a = strtol(strs[1], &end, 10);
  if (*strs[1] == '\0' || *end != '\0' || a < 0 || (size_t)a + 3 > n) { free(strs); return NULL; }
  long e = strtol(strs[2 + a], &end, 10);
  if (*strs[2 + a] == '\0' || *end != '\0' || e < 0 || (size_t)(3 + a + e) != n) { free(strs); return NULL; }
  *argc = (int)a;
  *envc = (int)e;
  return strs;
}

// Requests on stdin: u32 little-endian length, then NUL-terminated strings:
// id, argc, argv..., envc, env.... Each gets exactly one line on stdout: the forked monitor's status,
// or an error with the request's id when the request cannot be served.
static int launcher(void) {
  signal(SIGCHLD, SIG_IGN); // monitors are reaped by the kernel
  signal(SIGPIPE, SIG_IGN);
  for (;;) {
    uint32_t len;
    if (read_full(0, &len, sizeof len) < 0) return 0; // the daemon is gone; monitors live on
    char *buf = malloc((size_t)len + 1);
    if (buf == NULL) {
      char id[32];
      if (discard(len, id, sizeof id) < 0) return 1;
      report_status(1, answerable(id), 0, "the launch request is too large to hold", 0);
      continue;
    }
    if (read_full(0, buf, len) < 0) return 1;
    buf[len] = '\0';
    int argc = 0, envc = 0;
    char **strs = parse_request(buf, len, &argc, &envc);
    if (strs == NULL) {
      report_status(1, answerable(buf), 0, "malformed launch request", 0);
      free(buf);
      continue;
    }
    pid_t pid = fork();
    if (pid == 0) {
      signal(SIGCHLD, SIG_DFL);
      setsid();
      launch_id = strs[0];
      char **argv = calloc(argc + 2, sizeof *argv);
      char **envp = calloc(envc + 1, sizeof *envp);
      if (argv == NULL || envp == NULL) die("out of memory for %d arguments", argc);
      argv[0] = "aurae-monitor";
      memcpy(argv + 1, strs + 2, argc * sizeof *argv);
      memcpy(envp, strs + 3 + argc, envc * sizeof *envp);
      environ = envp;
      int devnull = open("/dev/null", O_RDONLY);
      dup2(devnull, 0);
      close(devnull);
      _exit(monitor_main(argc + 1, argv, strs[0]));
    }
    if (pid < 0) {
      char msg[128];
      snprintf(msg, sizeof msg, "fork: %s", strerror(errno));
      report_status(1, strs[0], 0, msg, 0);
    }
    free(strs);
    free(buf);
  }
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--launcher") == 0) return launcher();
  return monitor_main(argc, argv, NULL);
}
