// aurae-init: the PID 1 half of a guest's auraed. Node cannot be a system's init by itself: it does not reap the
// orphans the kernel hands to PID 1 (libuv waits only for its own children), and it has no exec to hand PID 1 on.
// So a guest boots this, and it runs auraed as its one child:
//
//   aurae-init [--] COMMAND [ARG...]        (COMMAND is `node .../auraed.js --pid1 ...`)
//
// It mounts what a system needs and is not mounted yet (/proc, /sys, /dev, /dev/pts, /dev/shm, /run and the
// unified cgroup hierarchy), reaps every process that ends under it, and turns SIGTERM, SIGINT (Ctrl-Alt-Del),
// SIGPWR and a press of the power button (ACPI's, as `system_powerdown` presses it) into a shutdown: auraed gets SIGTERM and stops its workloads; once it has exited (by force after
// AURAE_INIT_STOP_SECONDS, 60 by default), everything left gets SIGTERM, then SIGKILL, the disks are synced and,
// on a real machine, the filesystems are unmounted or made read-only before it powers off. In a PID namespace
// (a container, or a test under `unshare --pid`) the filesystems are the host's and stay as they are; powering
// off ends the namespace. When auraed exits by itself, the machine powers off all the same: the guest is auraed.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/input.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

// The inode of the first PID namespace (PROC_PID_INIT_INO): only there is this the machine's init.
#define INITIAL_PID_NS "pid:[4026531836]"

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  dprintf(2, "aurae-init: %s\n", msg);
}

#define MAX_MOUNTS 256

// The mount points, in mountinfo's order (parents before what is mounted on them); their number.
static int mount_points(char *paths[MAX_MOUNTS]) {
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (f == NULL) return 0;
  char line[4096];
  int n = 0;
  while (n < MAX_MOUNTS && fgets(line, sizeof line, f) != NULL) {
    // ID PARENT MAJ:MIN ROOT MOUNTPOINT ...
    char *save = NULL, *field = strtok_r(line, " ", &save);
    for (int i = 0; i < 4 && field != NULL; i++) field = strtok_r(NULL, " ", &save);
    if (field != NULL) paths[n++] = strdup(field);
  }
  fclose(f);
  return n;
}

// Whether `path` is a mount point already (once /proc is there).
static int mounted(const char *path) {
  char *paths[MAX_MOUNTS];
  int n = mount_points(paths), found = 0;
  for (int i = 0; i < n; i++) {
    if (strcmp(paths[i], path) == 0) found = 1;
    free(paths[i]);
  }
  return found;
}

// Mounts `type` at `path` unless something is mounted there; a failure is said, not fatal (a kernel without
// devtmpfs still boots with a tmpfs /dev).
static int mount_if_missing(const char *source, const char *path, const char *type, unsigned long flags, const char *data) {
  if (mounted(path)) return 0;
  mkdir(path, 0755);
  if (mount(source, path, type, flags, data) == 0) return 1;
  say("cannot mount %s on %s: %s", type, path, strerror(errno));
  return -1;
}

static void mount_system(void) {
  const unsigned long base = MS_NOSUID | MS_NODEV | MS_NOEXEC;
  // /proc first: the others are checked against its mountinfo.
  if (access("/proc/self/mountinfo", F_OK) != 0) {
    mkdir("/proc", 0555);
    if (mount("proc", "/proc", "proc", base, NULL) != 0) say("cannot mount /proc: %s", strerror(errno));
  }
  mount_if_missing("sysfs", "/sys", "sysfs", base, NULL);
  if (mount_if_missing("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755") < 0) mount_if_missing("tmpfs", "/dev", "tmpfs", MS_NOSUID, "mode=0755");
  mount_if_missing("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "mode=0620,ptmxmode=0666,gid=5");
  mount_if_missing("shm", "/dev/shm", "tmpfs", base, "mode=1777");
  mount_if_missing("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
  mount_if_missing("cgroup2", "/sys/fs/cgroup", "cgroup2", base, NULL);
}

static int initial_pid_ns(void) {
  char ns[64] = { 0 };
  ssize_t n = readlink("/proc/self/ns/pid", ns, sizeof ns - 1);
  return n > 0 && strcmp(ns, INITIAL_PID_NS) == 0;
}

// The input devices that have a power button (ACPI's among them), opened: a press is a shutdown. Needs the
// kernel's button and evdev drivers, which the guest's /init loads.
#define MAX_BUTTONS 8
#define BITS_PER_LONG (8 * sizeof(long))
static int power_buttons(int *fds) {
  int n = 0;
  DIR *dir = opendir("/dev/input");
  if (dir == NULL) return 0;
  struct dirent *e;
  while ((e = readdir(dir)) != NULL && n < MAX_BUTTONS) {
    if (strncmp(e->d_name, "event", 5) != 0) continue;
    char path[300];
    snprintf(path, sizeof path, "/dev/input/%s", e->d_name);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) continue;
    unsigned long keys[KEY_MAX / BITS_PER_LONG + 1] = { 0 };
    if (ioctl(fd, EVIOCGBIT(EV_KEY, sizeof keys), keys) >= 0 && (keys[KEY_POWER / BITS_PER_LONG] >> (KEY_POWER % BITS_PER_LONG) & 1) != 0) fds[n++] = fd;
    else close(fd);
  }
  closedir(dir);
  return n;
}

// Whether what an input device has to say includes a press of the power button.
static int pressed(int fd) {
  struct input_event ev[16];
  int press = 0;
  ssize_t n;
  while ((n = read(fd, ev, sizeof ev)) > 0) {
    for (size_t i = 0; i < (size_t)n / sizeof ev[0]; i++) {
      if (ev[i].type == EV_KEY && ev[i].code == KEY_POWER && ev[i].value == 1) press = 1;
    }
  }
  return press;
}

// Reaps every child that has ended; returns 1 if `watched` was among them, its status in *status.
static int reap(pid_t watched, int *status) {
  int seen = 0, st;
  pid_t pid;
  while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
    if (pid == watched) {
      seen = 1;
      *status = st;
    }
  }
  return seen;
}

// Waits up to `ms` for every process under this one to end, reaping them.
static void drain(int ms) {
  struct timespec tick = { 0, 20 * 1000 * 1000 };
  for (int waited = 0; waited < ms; waited += 20) {
    pid_t pid;
    while ((pid = waitpid(-1, NULL, WNOHANG)) > 0) {}
    if (pid < 0 && errno == ECHILD) return;
    nanosleep(&tick, NULL);
  }
}

// On a real machine: every filesystem but / unmounted (deepest first), / made read-only.
static void unmount_all(void) {
  char *paths[MAX_MOUNTS];
  for (int i = mount_points(paths) - 1; i >= 0; i--) {
    if (strcmp(paths[i], "/") != 0 && umount2(paths[i], 0) != 0 && strncmp(paths[i], "/proc", 5) != 0 && strncmp(paths[i], "/sys", 4) != 0 && strncmp(paths[i], "/dev", 4) != 0) umount2(paths[i], MNT_DETACH);
    free(paths[i]);
  }
  if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY, NULL) != 0 && errno != EINVAL) say("cannot make / read-only: %s", strerror(errno));
}

int main(int argc, char **argv) {
  int first = argc > 1 && strcmp(argv[1], "--") == 0 ? 2 : 1;
  if (first >= argc) {
    say("usage: aurae-init [--] COMMAND [ARG...]");
    return 2;
  }
  int pid1 = getpid() == 1;
  // Outside PID 1 (a test), orphans under it still come here.
  if (!pid1) prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  if (pid1) mount_system();
  // Ctrl-Alt-Del becomes SIGINT to init instead of an immediate reboot.
  if (pid1 && initial_pid_ns()) reboot(RB_DISABLE_CAD);

  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old);
  pid_t child = fork();
  if (child < 0) {
    say("fork: %s", strerror(errno));
    return 1;
  }
  if (child == 0) {
    sigprocmask(SIG_SETMASK, &old, NULL);
    setsid();
    execvp(argv[first], &argv[first]);
    say("cannot run %s: %s", argv[first], strerror(errno));
    _exit(127);
  }

  const char *limit = getenv("AURAE_INIT_STOP_SECONDS");
  int stop_seconds = limit != NULL && atoi(limit) > 0 ? atoi(limit) : 60;
  // Signals arrive on a descriptor, beside the power buttons (only a machine's own: a PID namespace's init
  // has no buttons of its own).
  struct pollfd fds[1 + MAX_BUTTONS];
  fds[0] = (struct pollfd){ .fd = signalfd(-1, &all, SFD_CLOEXEC | SFD_NONBLOCK), .events = POLLIN };
  if (fds[0].fd < 0) {
    say("signalfd: %s", strerror(errno));
    kill(child, SIGKILL);
  }
  int buttons[MAX_BUTTONS];
  int nbuttons = pid1 && initial_pid_ns() ? power_buttons(buttons) : 0;
  for (int i = 0; i < nbuttons; i++) fds[1 + i] = (struct pollfd){ .fd = buttons[i], .events = POLLIN };
  int status = 0, stopping = 0;
  time_t deadline = 0;
  for (;;) {
    poll(fds, (nfds_t)(1 + nbuttons), 1000);
    int stop = 0;
    struct signalfd_siginfo info;
    while (read(fds[0].fd, &info, sizeof info) == sizeof info) {
      int sig = (int)info.ssi_signo;
      if (sig == SIGTERM || sig == SIGINT || sig == SIGPWR) stop = 1;
      // Anything else a system's init is sent (SIGHUP, SIGUSR1 ...) is auraed's to handle.
      else if (sig != SIGCHLD) kill(child, sig);
    }
    for (int i = 0; i < nbuttons; i++) {
      if ((fds[1 + i].revents & POLLIN) != 0 && pressed(fds[1 + i].fd)) stop = 1;
    }
    if (reap(child, &status)) break;
    if (stop && !stopping) {
      stopping = 1;
      deadline = time(NULL) + stop_seconds;
      kill(child, SIGTERM);
    }
    if (stopping && time(NULL) >= deadline) {
      say("auraed did not stop within %d s; killing it", stop_seconds);
      kill(child, SIGKILL);
    }
  }
  if (WIFSIGNALED(status)) say("auraed ended by signal %d", WTERMSIG(status));
  else if (WEXITSTATUS(status) != 0) say("auraed exited with %d", WEXITSTATUS(status));
  // Not PID 1 (a test): what is left under it is reaped as it ends; nothing else is this process's to end.
  if (!pid1) {
    drain(2000);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  // auraed has ended: the rest of the system (of the PID namespace) goes too.
  kill(-1, SIGTERM);
  drain(2000);
  kill(-1, SIGKILL);
  drain(2000);
  sync();
  if (initial_pid_ns()) unmount_all();
  sync();
  reboot(RB_POWER_OFF);
  say("cannot power off: %s", strerror(errno));
  return 1;
}
