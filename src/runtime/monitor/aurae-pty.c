// aurae-pty: gives a command a terminal of its own, for `aurae exec -it` run by the daemon. Node has no
// pseudo-terminal API, so the daemon runs `aurae-pty ROWS COLS COMMAND [ARG...]` on pipes: the helper opens a
// pty, starts COMMAND on its slave as the controlling terminal of a new session, copies its own stdin to the
// master (keys: Ctrl-C is byte 0x03, which the line discipline turns into SIGINT) and the master to its stdout.
// Window sizes arrive on fd 3 as 4-byte records (rows, cols; big-endian u16 each); TIOCSWINSZ on the master makes
// the kernel send SIGWINCH to the terminal's foreground group (a `runc exec -t` there passes it into the
// container). The end of stdin means the caller went away: the command's session gets SIGHUP, as on a hangup.
// Exits with the command's status, 128+N when signal N ended it; 126/127 when it could not be run.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define CONTROL_FD 3
#define BLOCK 65536

// Writes all of buf, waiting when the other end is full; false once it is gone.
static int write_all(int fd, const char *buf, ssize_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, (size_t)len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      struct pollfd p = { .fd = fd, .events = POLLOUT };
      poll(&p, 1, -1);
      continue;
    }
    if (n <= 0) return 0;
    buf += n;
    len -= n;
  }
  return 1;
}

static void set_size(int fd, unsigned rows, unsigned cols) {
  struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };
  ioctl(fd, TIOCSWINSZ, &ws);
}

// The child: a session of its own with the slave as its controlling terminal and stdio, then COMMAND.
static void start(const char *slave_name, char **argv, int status_fd) {
  setsid();
  int slave = open(slave_name, O_RDWR);
  if (slave < 0 || ioctl(slave, TIOCSCTTY, 0) < 0) _exit(126);
  dup2(slave, 0);
  dup2(slave, 1);
  dup2(slave, 2);
  if (slave > 2) close(slave);
  close(CONTROL_FD);
  execvp(argv[0], argv);
  int err = errno;
  (void)!write(status_fd, &err, sizeof err);
  _exit(err == ENOENT ? 127 : 126);
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: aurae-pty ROWS COLS COMMAND [ARG...]\n");
    return 125;
  }
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0) {
    perror("aurae-pty: cannot open a pseudo-terminal");
    return 125;
  }
  const char *slave_name = ptsname(master);
  set_size(master, (unsigned)atoi(argv[1]), (unsigned)atoi(argv[2]));
  // A pipe closed by a successful exec: what comes through it is the errno of a failed one.
  int status[2];
  if (slave_name == NULL || pipe2(status, O_CLOEXEC) < 0) return 125;
  pid_t child = fork();
  if (child < 0) return 125;
  if (child == 0) start(slave_name, argv + 3, status[1]);
  close(status[1]);
  int err = 0;
  if (read(status[0], &err, sizeof err) == (ssize_t)sizeof err) {
    fprintf(stderr, "aurae-pty: cannot run %s: %s\n", argv[3], strerror(err));
    waitpid(child, NULL, 0);
    return err == ENOENT ? 127 : 126;
  }
  close(status[0]);
  signal(SIGPIPE, SIG_IGN);
  fcntl(master, F_SETFL, O_NONBLOCK);
  int in_open = 1, control_open = fcntl(CONTROL_FD, F_GETFD) >= 0, master_open = 1;
  unsigned char size[4];
  size_t size_len = 0;
  char buf[BLOCK], keys[BLOCK];
  ssize_t keys_len = 0, keys_off = 0;
  int wstatus = 0, exited = 0;
  while (master_open) {
    // Input waits for the terminal to take it while output keeps flowing: neither direction blocks the other.
    struct pollfd fds[3] = {
      { .fd = master, .events = POLLIN | (keys_len > keys_off ? POLLOUT : 0) },
      { .fd = in_open && keys_len == keys_off ? 0 : -1, .events = POLLIN },
      { .fd = control_open ? CONTROL_FD : -1, .events = POLLIN },
    };
    // Once the command has ended, what it wrote is still read, then the helper ends with it.
    if (poll(fds, 3, exited ? 0 : 200) < 0 && errno != EINTR) break;
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = read(master, buf, sizeof buf);
      if (n > 0) {
        if (!write_all(1, buf, n)) break;
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        master_open = 0; // EIO: no process holds the slave any more
      }
    } else if (exited) {
      break;
    }
    if (fds[0].revents & POLLOUT) {
      ssize_t n = write(master, keys + keys_off, (size_t)(keys_len - keys_off));
      if (n > 0) keys_off += n;
    }
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = read(0, keys, sizeof keys);
      if (n > 0) {
        keys_len = n;
        keys_off = 0;
      } else if (n == 0 || errno != EINTR) {
        in_open = 0;
        kill(-child, SIGHUP);
      }
    }
    if (fds[2].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = read(CONTROL_FD, size + size_len, sizeof size - size_len);
      if (n <= 0) {
        control_open = 0;
      } else if ((size_len += (size_t)n) == sizeof size) {
        set_size(master, (unsigned)(size[0] << 8 | size[1]), (unsigned)(size[2] << 8 | size[3]));
        size_len = 0;
      }
    }
    if (!exited && waitpid(child, &wstatus, WNOHANG) == child) exited = 1;
  }
  if (!exited) waitpid(child, &wstatus, 0);
  return WIFSIGNALED(wstatus) ? 128 + WTERMSIG(wstatus) : WEXITSTATUS(wstatus);
}
