// aurae-init: a guest's PID 1. Node cannot be a system's init by itself: it does not reap the orphans the kernel
// hands to PID 1 (libuv waits only for its own children), and it has no exec to hand PID 1 on. So a guest boots
// this, in one of these ways:
//
//   aurae-init [--] COMMAND [ARG...]        the guest's auraed (COMMAND is `node .../auraed.js --pid1 ...`)
//   aurae-init --job FILE                   a VM's one workload, as src/runtime/vm/job.ts writes FILE
//   /init                                   the kernel's first process, as the guest's initramfs has it: it loads
//                                           the kernel's modules (MODULES/order), mounts the host's shares (SHARES),
//                                           then boots the root drive BOOT names, or becomes a template (TEMPLATE,
//                                           below), or runs JOB, or else the COMMAND the initramfs gives, as above
//                                           (on the network NETWORK gives it: a nested node's auraed listens there
//                                           for its host)
//
// Each way it mounts what a system needs and is not mounted yet (/proc, /sys, /dev, /dev/pts, /dev/shm, /run and
// the unified cgroup hierarchy). Unless it hands PID 1 on to a root drive's init (below), it reaps every process that
// ends under it, and turns SIGTERM, SIGINT (Ctrl-Alt-Del), SIGPWR and a press of the power button (ACPI's, as
// `system_powerdown` presses it) into a stop.
//
// auraed gets SIGTERM and stops its workloads; once it has exited (by force after AURAE_INIT_STOP_SECONDS, 60 by
// default), everything left gets SIGTERM, then SIGKILL, the disks are synced and, on a real machine, the
// filesystems are unmounted or made read-only before it powers off. In a PID namespace (a container, or a test
// under `unshare --pid`) the filesystems are the host's and stay as they are; powering off ends the namespace.
// When auraed exits by itself, the machine powers off all the same: the guest is auraed.
//
// A job's workload runs as a container runtime would run it: in an overlay of the image's root (its writes go to a
// tmpfs), with the job's binds, user, environment, working directory and hostname, in a cgroup of its own with the
// job's limits. The VM is the isolation boundary, so a chroot is enough. The host talks to it on named
// virtio-serial ports: the workload's stdout and stderr are aurae.stdout and aurae.stderr, signals for it come in
// on aurae.control (a decimal number a line), and a stop sends it the job's stop signal, again at every stop (the
// host keeps the deadline). When it ends, whatever it left is killed, as a PID namespace's processes are with its
// init, and its end goes out on aurae.status: `exit CODE OOMKILLS` or `signal N OOMKILLS`, after an `error ...` line
// when it could not run; a job that cannot be set up ends as `exit 125 0`. Then the machine powers off. A `started`
// line goes out first, once the workload has been started: the host ends a guest that does not get that far.
//
// Beside it, the host may run commands in the workload's root on aurae.exec, as `docker exec` runs them in a
// container (aurae-vm-exec.c, the host's end, says how): each runs as the workload does, in its root and cgroup,
// with its user, and its output and end go back in frames; the host's input goes in in frames too, to its stdin
// (`exec -i`) or to a terminal of its own (`exec -t`: a pty of the guest's, whose /dev/pts the workload's root shows
// with the rest of /dev), with the terminal's size. The port is optional.
//
// A warm start runs a job in a copy of a template VM. When the initramfs has TEMPLATE (NUL-ended words: `device
// DEV` and `root PATH`, required, and `fstype TYPE`), /init mounts the image's drive read-only at PATH and opens
// the ports, with one more, aurae.job, and goes no further than what every copy shares: no network, name, cgroup
// or workload's root yet. It says `template` on aurae.status, and the host saves the VM there. Each copy the host
// restores gets its job on aurae.job (its length in decimal, a newline, its bytes), and runs it as above. A copy
// starts with the template's clock, kernel's entropy pool and MAC, so a job may give it its own, in the job's keys
// beside job.ts's: `clock SECONDS.NANOSECONDS` (the host's wall clock), `entropy HEX` (up to 512 bytes, mixed into
// the pool, which is then reseeded) and `mac AA:BB:CC:DD:EE:FF` (eth0's, when the job has an address).
//
// A VM given a disk image as its root (the original Aurae's VmService) runs the image's own init instead, and this
// only gets it there, as an initramfs's init does: BOOT names the root drive, how to mount it, the drives to mount
// in it and the init (struct boot says how). /init loads the modules the drives need (MODULES/boot-order), mounts
// the root at /newroot and the drives in it, and checks that the init is there while a failure can still be told;
// then it hands over as switch_root does: /dev, /proc, /sys and /run move into the new root, the initramfs's files
// are deleted to give their memory back, the new root becomes / and its init replaces this process as PID 1, with
// the console as its stdin, stdout and stderr and nothing else open. From then on the drive's init reaps and powers
// off. A boot that cannot get there says why on the console and, when the VM has it, on aurae.status as a job that
// cannot be set up does, and powers off: the reason is told where the kernel would only have panicked.
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/input.h>
#include <linux/magic.h>
#include <linux/random.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <net/route.h>
#include <linux/openat2.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/epoll.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
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

// Whether `path` is a mount point already (once /proc is there); with `below`, whether anything is mounted under it.
static int mounted(const char *path, int below) {
  char *paths[MAX_MOUNTS];
  int n = mount_points(paths), found = 0;
  size_t len = strlen(path);
  for (int i = 0; i < n; i++) {
    if (below ? strncmp(paths[i], path, len) == 0 && paths[i][len] == '/' : strcmp(paths[i], path) == 0) found = 1;
    free(paths[i]);
  }
  return found;
}

// Mounts `type` at `path` unless something is mounted there; a failure is said, not fatal (a kernel without
// devtmpfs still boots with a tmpfs /dev).
static int mount_if_missing(const char *source, const char *path, const char *type, unsigned long flags, const char *data) {
  if (mounted(path, 0)) return 0;
  mkdir(path, 0755);
  if (mount(source, path, type, flags, data) == 0) return 1;
  say("cannot mount %s on %s: %s", type, path, strerror(errno));
  return -1;
}

// What the guest's initramfs says of its boot (initramfs.ts writes them).
#define MODULES "/modules"
#define SHARES "/etc/aurae/shares"
#define COMMAND "/etc/aurae/command"
#define JOB "/etc/aurae/job"
#define BOOT "/etc/aurae/boot"
// A template VM's drive and where it goes (a warm start's: see above).
#define TEMPLATE "/etc/aurae/template"
// The guest auraed's network and name (a nested node's), beside COMMAND.
#define NETWORK "/etc/aurae/network"
// Where a root drive is mounted before it becomes /, and what runs as its init unless told.
#define NEWROOT "/newroot"
#define DEFAULT_INIT "/sbin/init"

// With `keep_run`, what is mounted under /run (a VM's shares) stays in sight: /run is then the initramfs's own
// directory, writable already.
static void mount_system(int keep_run) {
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
  if (!keep_run || !mounted("/run", 1)) mount_if_missing("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
  mount_if_missing("cgroup2", "/sys/fs/cgroup", "cgroup2", base, NULL);
}

// `path` and the directories above it made, as mkdir -p.
static void make_dirs(const char *path) {
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", path);
  for (char *slash = strchr(dir + 1, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
    *slash = '\0';
    mkdir(dir, 0755);
    *slash = '/';
  }
  mkdir(dir, 0755);
}

// The kernel's modules the guest needs, as an order file in MODULES names them (a name a line, each after what it
// depends on; the module in MODULES/NAME.ko), loaded in order.
static void load_modules(const char *order) {
  FILE *f = fopen(order, "re");
  if (f == NULL) return;
  char name[256];
  while (fgets(name, sizeof name, f) != NULL) {
    name[strcspn(name, "\n")] = '\0';
    if (name[0] == '\0') continue;
    char path[PATH_MAX];
    snprintf(path, sizeof path, MODULES "/%s.ko", name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || (syscall(SYS_finit_module, fd, "", 0) != 0 && errno != EEXIST)) say("cannot load module %s: %s", name, strerror(errno));
    if (fd >= 0) close(fd);
  }
  fclose(f);
}

// The host's directories the guest is given, mounted as SHARES lists them: `TAG PATH ro|rw` a line (virtiofs).
static void mount_shares(void) {
  FILE *f = fopen(SHARES, "re");
  if (f == NULL) return;
  char line[PATH_MAX + 128], tag[64], path[PATH_MAX], mode[8];
  while (fgets(line, sizeof line, f) != NULL) {
    if (sscanf(line, "%63s %4095s %7s", tag, path, mode) != 3) continue;
    make_dirs(path);
    if (mount(tag, path, "virtiofs", strcmp(mode, "ro") == 0 ? MS_RDONLY : 0, NULL) != 0) say("cannot mount the host's %s on %s: %s", tag, path, strerror(errno));
  }
  fclose(f);
}

// The guest auraed's command line, COMMAND's lines (NULL-ended), or NULL when there is none.
static char **boot_command(void) {
  FILE *f = fopen(COMMAND, "re");
  if (f == NULL) return NULL;
  char **argv = NULL, line[PATH_MAX];
  int n = 0;
  while (fgets(line, sizeof line, f) != NULL) {
    line[strcspn(line, "\n")] = '\0';
    char **more = realloc(argv, (size_t)(n + 2) * sizeof *argv);
    if (more == NULL) break;
    argv = more;
    argv[n++] = strdup(line);
    argv[n] = NULL;
  }
  fclose(f);
  return n > 0 ? argv : NULL;
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

// A command the host runs beside the workload, on the exec port (served by the exec_ functions below the job's).
struct exec {
  int port;
  const struct job *job;
  // What comes in: a request (its length's 4 bytes, then its body), or a frame of the host's for the command (its
  // type says so: its head's 9 bytes, then its data). What is not taken is skipped: a request too long to take but
  // for its first bytes, which hold its id; a frame for no command. Whether no one seemed to be at the host's end
  // when it began.
  unsigned char head[9], size[4];
  size_t have, need, got;
  char *body, start[24];
  int frame, skipping, began_away;
  // With no one at the host's end the port says POLLHUP at every poll: it is left out of the poll set then, until
  // SIGIO says the host's end changed, or until `back` (on the monotonic clock, in ms). Whether it seemed so when
  // last looked at, and since when it has been so with nothing coming in.
  int parked, seen_away;
  long long back, away_since;
  // The command: its request's id, its process (0 for none), its pipes (-1 once at their end; on a terminal, `out`
  // is its master and `err` is -1), how it ended.
  uint32_t id;
  pid_t pid;
  int out, err, report, detach, reaped, status;
  char error[640];
  size_t error_len;
  // Its input: its stdin's pipe (or the terminal's master) to write into, -1 for none; what waits to go in
  // (`in_len` bytes from `in_off` of `input`, IN_WINDOW of room: the host sends no more than that before it hears
  // how much the command took); how much it took since the host last heard; whether the end of input came.
  int in, tty, input_end;
  char *input;
  size_t in_off, in_len;
  uint32_t unacked;
  // The frames to go out; `sent` bytes of the first are out already.
  char *buf;
  size_t len, sent;
};

enum { EXEC_PORT_FD, EXEC_OUT_FD, EXEC_ERR_FD, EXEC_REPORT_FD, EXEC_IN_FD, EXEC_FDS };
static int exec_poll(struct exec *x, struct pollfd fds[EXEC_FDS]);
static void exec_serve(struct exec *x);

// Reaps every child that has ended; returns 1 if `watched` was among them, its status in *status. An exec's
// command's status goes to it.
static int reap(pid_t watched, int *status, struct exec *x) {
  int seen = 0, st;
  pid_t pid;
  while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
    if (pid == watched) {
      seen = 1;
      *status = st;
    } else if (x != NULL && pid == x->pid) {
      x->reaped = 1;
      x->status = st;
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

// Every process left under this one ended: given SIGTERM and a moment first when `gently`, then SIGKILL.
static void end_the_rest(int gently) {
  if (gently) {
    kill(-1, SIGTERM);
    drain(2000);
  }
  kill(-1, SIGKILL);
  drain(2000);
}

// The disks synced and the filesystems put away, the machine (or the PID namespace) powered off.
static int power_off(void) {
  sync();
  if (initial_pid_ns()) unmount_all();
  sync();
  reboot(RB_POWER_OFF);
  say("cannot power off: %s", strerror(errno));
  return 1;
}

// A decimal number of digits alone, at most `max`.
static int number(const char *s, unsigned long long max, unsigned long long *out) {
  unsigned long long n = 0;
  if (*s == '\0') return 0;
  for (; *s != '\0'; s++) {
    unsigned d = (unsigned)(*s - '0');
    if (*s < '0' || *s > '9' || d > max || n > (max - d) / 10) return 0;
    n = n * 10 + d;
  }
  *out = n;
  return 1;
}

// Reads what the host sent on the control port: signals for `pid` alone (as `runc kill` sends them), a decimal
// number a line. Returns 0 when no one is at the host's end.
static int take_signals(int fd, pid_t pid) {
  static char line[16];
  static size_t len;
  static int overlong;
  char buf[256];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) {
    for (ssize_t i = 0; i < n; i++) {
      if (buf[i] != '\n') {
        if (len < sizeof line - 1) line[len++] = buf[i];
        else overlong = 1;
        continue;
      }
      line[len] = '\0';
      unsigned long long sig;
      if (!overlong && number(line, (unsigned long long)SIGRTMAX, &sig) && sig > 0) kill(pid, (int)sig);
      else say("the host sent \"%s%s\" on the control port, which is no signal", line, overlong ? "..." : "");
      len = 0;
      overlong = 0;
    }
  }
  return n != 0;
}

// The one child a guest's init is for, and how a stop goes to it.
struct watched {
  pid_t pid;
  const char *name;
  int stop_signal;
  // How long it has after a stop before SIGKILL; 0 for no deadline of its own (a VM's host keeps it): then every
  // stop sends the stop signal again.
  int stop_seconds;
  // The host's control port, or -1.
  int control;
  // The exec port's server, or NULL.
  struct exec *exec;
};

// Serves signals, the power buttons, the control port and the exec port until the watched child ends, reaping every
// process that ends meanwhile; the child's wait status.
static int watch(const struct watched *w, const sigset_t *signals) {
  // Signals arrive on a descriptor, beside the power buttons (only a machine's own: a PID namespace's init has no
  // buttons of its own), the control port and the exec port with its command's pipes.
  enum { SIGNALS, CONTROL, EXEC, BUTTONS = EXEC + EXEC_FDS };
  struct pollfd fds[BUTTONS + MAX_BUTTONS];
  fds[SIGNALS] = (struct pollfd){ .fd = signalfd(-1, signals, SFD_CLOEXEC | SFD_NONBLOCK), .events = POLLIN };
  if (fds[SIGNALS].fd < 0) {
    say("signalfd: %s", strerror(errno));
    kill(w->pid, SIGKILL);
  }
  int buttons[MAX_BUTTONS];
  int nbuttons = getpid() == 1 && initial_pid_ns() ? power_buttons(buttons) : 0;
  for (int i = 0; i < nbuttons; i++) fds[BUTTONS + i] = (struct pollfd){ .fd = buttons[i], .events = POLLIN };
  for (int i = 0; i < EXEC_FDS; i++) fds[EXEC + i] = (struct pollfd){ .fd = -1 };
  int status = 0, stopping = 0;
  time_t deadline = 0, control_back = 0;
  for (;;) {
    // A control port with no one at the host's end says so at every poll: it is looked at once a second then.
    fds[CONTROL] = (struct pollfd){ .fd = w->control >= 0 && time(NULL) >= control_back ? w->control : -1, .events = POLLIN };
    int wait = w->exec != NULL ? exec_poll(w->exec, &fds[EXEC]) : 1000;
    poll(fds, (nfds_t)(BUTTONS + nbuttons), wait);
    int stop = 0;
    struct signalfd_siginfo info;
    while (read(fds[SIGNALS].fd, &info, sizeof info) == sizeof info) {
      int sig = (int)info.ssi_signo;
      if (sig == SIGTERM || sig == SIGINT || sig == SIGPWR) stop = 1;
      // The exec port's (the kernel's, not a kill's): its host's end came or went, or a request came in.
      else if (sig == SIGIO && info.ssi_code > 0 && w->exec != NULL) w->exec->parked = 0;
      // This process's own write into an exec'd command's stdin, which the command had closed: no one else's.
      else if (sig == SIGPIPE && info.ssi_code == SI_USER && info.ssi_pid == (uint32_t)getpid()) continue;
      // Anything else a system's init is sent (SIGHUP, SIGUSR1 ...) is the child's to handle.
      else if (sig != SIGCHLD) kill(w->pid, sig);
    }
    if (fds[CONTROL].fd >= 0 && (fds[CONTROL].revents & (POLLIN | POLLHUP)) != 0 && !take_signals(w->control, w->pid)) control_back = time(NULL) + 1;
    for (int i = 0; i < nbuttons; i++) {
      if ((fds[BUTTONS + i].revents & POLLIN) != 0 && pressed(fds[BUTTONS + i].fd)) stop = 1;
    }
    // A command run on the exec port goes with the workload (the machine powers off): its caller sees the port end.
    if (reap(w->pid, &status, w->exec)) break;
    if (w->exec != NULL) exec_serve(w->exec);
    if (stop && (!stopping || w->stop_seconds == 0)) {
      if (!stopping) deadline = time(NULL) + w->stop_seconds;
      stopping = 1;
      kill(w->pid, w->stop_signal);
    }
    if (stopping && w->stop_seconds > 0 && time(NULL) >= deadline) {
      say("%s did not stop within %d s; killing it", w->name, w->stop_seconds);
      kill(w->pid, SIGKILL);
    }
  }
  for (int i = 0; i < nbuttons; i++) close(buttons[i]);
  if (fds[SIGNALS].fd >= 0) close(fds[SIGNALS].fd);
  return status;
}

// The guest's auraed, and the machine's end when it ends.
static int run_command(char **argv, int pid1, const sigset_t *signals, const sigset_t *old) {
  pid_t child = fork();
  if (child < 0) {
    say("fork: %s", strerror(errno));
    return 1;
  }
  if (child == 0) {
    sigprocmask(SIG_SETMASK, old, NULL);
    setsid();
    execvp(argv[0], argv);
    say("cannot run %s: %s", argv[0], strerror(errno));
    _exit(127);
  }
  const char *limit = getenv("AURAE_INIT_STOP_SECONDS");
  struct watched w = { .pid = child, .name = "auraed", .stop_signal = SIGTERM, .stop_seconds = limit != NULL && atoi(limit) > 0 ? atoi(limit) : 60, .control = -1, .exec = NULL };
  int status = watch(&w, signals);
  if (WIFSIGNALED(status)) say("auraed ended by signal %d", WTERMSIG(status));
  else if (WEXITSTATUS(status) != 0) say("auraed exited with %d", WEXITSTATUS(status));
  // Not PID 1 (a test): what is left under it is reaped as it ends; nothing else is this process's to end.
  if (!pid1) {
    drain(2000);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  // auraed has ended: the rest of the system (of the PID namespace) goes too.
  end_the_rest(1);
  return power_off();
}

struct bind {
  const char *source, *target;
  int read_only;
};

struct file {
  const char *path, *text;
};

// eth0's address and prefix, and the default route (none without a network); its MAC when `has_mac`.
struct network {
  struct in_addr address, gateway;
  int prefix, has_mac;
  unsigned char mac[6];
};

// A job, as job.ts writes it.
struct job {
  const char *root, *workdir, *hostname;
  char **argv, **env;
  int argc, envc;
  uid_t uid;
  gid_t gid;
  gid_t *groups;
  int ngroups;
  struct bind *binds;
  int nbinds;
  struct file *files;
  int nfiles;
  unsigned long long memory, pids;
  int stop_signal;
  struct network net;
  // A warm start's own wall clock (when `has_clock`) and entropy.
  int has_clock;
  struct timespec clock;
  size_t entropy_len;
  unsigned char entropy[512];
};

#define MAX_JOB (1 << 20)
#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
// Where the workload's root is made: a tmpfs for its writes, and the overlay of the image's root and them.
#define WRITABLE "/run/aurae/rw"
#define WORKLOAD_ROOT "/run/aurae/root"
#define CGROUP "/sys/fs/cgroup/workload"

// Why the job cannot run, for the console and the status port.
static char why[600];

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  return -1;
}

// The supplementary groups, `N,N,...` (none when empty).
static int parse_groups(const char *text, struct job *job) {
  size_t n = 1;
  for (const char *s = text; *s != '\0'; s++) n += *s == ',';
  job->groups = calloc(n, sizeof *job->groups);
  char *copy = strdup(text), *save = NULL;
  for (char *g = strtok_r(copy, ",", &save); g != NULL; g = strtok_r(NULL, ",", &save)) {
    unsigned long long id;
    if (!number(g, (gid_t)-2, &id)) return fail("the job's groups are not numbers: %s", text);
    job->groups[job->ngroups++] = (gid_t)id;
  }
  free(copy);
  return 0;
}

// A file of NUL-ended words (`what`: a job, a boot file), read whole: its words, their number in *nwords; NULL when
// it cannot be read or is cut short.
static char **read_words(const char *path, const char *what, size_t *nwords) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    fail("cannot read the %s %s: %s", what, path, strerror(errno));
    return NULL;
  }
  char *text = malloc(MAX_JOB + 1);
  size_t len = 0;
  ssize_t n = 1;
  while (len <= MAX_JOB && (n = read(fd, text + len, MAX_JOB + 1 - len)) > 0) len += (size_t)n;
  int err = errno;
  close(fd);
  if (n < 0 || len > MAX_JOB || (len > 0 && text[len - 1] != '\0')) {
    if (n < 0) fail("cannot read the %s %s: %s", what, path, strerror(err));
    else if (len > MAX_JOB) fail("the %s is larger than %d bytes", what, MAX_JOB);
    else fail("the %s is cut short: its last word has no NUL", what);
    return NULL;
  }
  *nwords = 0;
  for (size_t i = 0; i < len; i++) *nwords += text[i] == '\0';
  char **words = calloc(*nwords + 1, sizeof *words);
  for (size_t i = 0, at = 0; i < *nwords; i++, at += strlen(text + at) + 1) words[i] = text + at;
  return words;
}

// An `address A.B.C.D/N` or a `gateway A.B.C.D` of a job or a boot file (`whose`).
static int read_network(const char *key, const char *v, struct network *net, const char *whose) {
  if (strcmp(key, "gateway") == 0) return inet_pton(AF_INET, v, &net->gateway) == 1 ? 0 : fail("the %s's gateway is not an address: %.64s", whose, v);
  char ip[INET_ADDRSTRLEN];
  unsigned long long prefix;
  const char *slash = strchr(v, '/');
  if (slash == NULL || (size_t)(slash - v) >= sizeof ip || !number(slash + 1, 32, &prefix)) return fail("the %s's address is not A.B.C.D/N: %.64s", whose, v);
  memcpy(ip, v, (size_t)(slash - v));
  ip[slash - v] = '\0';
  if (inet_pton(AF_INET, ip, &net->address) != 1) return fail("the %s's address is not A.B.C.D/N: %.64s", whose, v);
  net->prefix = (int)prefix;
  return 0;
}

// `n` bytes from the 2n hex digits at `s`, either case; 0 when one is not a hex digit.
static int hex_bytes(const char *s, unsigned char *out, size_t n) {
  for (size_t i = 0; i < 2 * n; i++) {
    char c = s[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) return 0;
    out[i / 2] = (unsigned char)(i % 2 == 0 ? d << 4 : out[i / 2] | d);
  }
  return 1;
}

// A unicast MAC, `AA:BB:CC:DD:EE:FF`, into `mac`; 0 for anything else (the kernel refuses a multicast one).
static int parse_mac(const char *v, unsigned char mac[6]) {
  if (strlen(v) != 17) return 0;
  for (int i = 0; i < 6; i++) {
    if (!hex_bytes(v + 3 * i, &mac[i], 1) || (i < 5 && v[3 * i + 2] != ':')) return 0;
  }
  return (mac[0] & 1) == 0;
}

// A wall clock, `SECONDS` or `SECONDS.NANOSECONDS` (1 to 9 digits of a second), into `t`; 0 for anything else.
static int parse_clock(const char *v, struct timespec *t) {
  char secs[24];
  const char *dot = strchr(v, '.');
  size_t len = dot != NULL ? (size_t)(dot - v) : strlen(v), digits = dot != NULL ? strlen(dot + 1) : 0;
  unsigned long long s, ns = 0;
  if (len >= sizeof secs || (dot != NULL && (digits == 0 || digits > 9 || !number(dot + 1, 999999999, &ns)))) return 0;
  memcpy(secs, v, len);
  secs[len] = '\0';
  if (!number(secs, LLONG_MAX, &s)) return 0;
  for (; digits < 9 && dot != NULL; digits++) ns *= 10;
  *t = (struct timespec){ .tv_sec = (time_t)s, .tv_nsec = (long)ns };
  return 1;
}

// Reads the job into `job` (its defaults set): NUL-ended words, each key followed by its values. A key it does not
// know refuses the job.
static int read_job(const char *path, struct job *job) {
  size_t nwords;
  char **words = read_words(path, "job", &nwords);
  if (words == NULL) return -1;
  job->argv = calloc(nwords + 1, sizeof *job->argv);
  job->env = calloc(nwords + 2, sizeof *job->env);
  job->binds = calloc(nwords + 1, sizeof *job->binds);
  job->files = calloc(nwords + 1, sizeof *job->files);
  int path_set = 0;
  static const char *const keys[] = { "root", "arg", "env", "workdir", "uid", "gid", "groups", "bind", "memory", "pids", "stopsignal", "hostname", "address", "gateway", "file", "clock", "entropy", "mac" };
  for (size_t i = 0; i < nwords;) {
    const char *key = words[i++];
    int known = 0;
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) known |= strcmp(key, keys[k]) == 0;
    if (!known) return fail("the job has a key this aurae-init does not know: %.64s", key);
    size_t values = strcmp(key, "bind") == 0 ? 3 : strcmp(key, "file") == 0 ? 2 : 1;
    if (i + values > nwords) return fail("the job's %.32s has no value", key);
    const char *v = words[i];
    unsigned long long num;
    if (strcmp(key, "root") == 0) job->root = v;
    else if (strcmp(key, "arg") == 0) job->argv[job->argc++] = (char *)v;
    else if (strcmp(key, "env") == 0) {
      if (strchr(v, '=') == NULL) return fail("the job's variable %.64s has no value", v);
      path_set |= strncmp(v, "PATH=", 5) == 0;
      job->env[job->envc++] = (char *)v;
    } else if (strcmp(key, "workdir") == 0) job->workdir = v;
    else if (strcmp(key, "uid") == 0 || strcmp(key, "gid") == 0) {
      // (uid_t)-1 means "unchanged" to setuid and setgid.
      if (!number(v, (uid_t)-2, &num)) return fail("the job's %s is not a number: %.64s", key, v);
      if (key[0] == 'u') job->uid = (uid_t)num;
      else job->gid = (gid_t)num;
    } else if (strcmp(key, "groups") == 0) {
      if (parse_groups(v, job) != 0) return -1;
    } else if (strcmp(key, "bind") == 0) {
      if (strcmp(words[i + 2], "ro") != 0 && strcmp(words[i + 2], "rw") != 0) return fail("the job's bind of %.64s is neither ro nor rw", v);
      job->binds[job->nbinds++] = (struct bind){ .source = v, .target = words[i + 1], .read_only = words[i + 2][1] == 'o' };
    } else if (strcmp(key, "memory") == 0 || strcmp(key, "pids") == 0) {
      if (!number(v, ULLONG_MAX, &num)) return fail("the job's %s is not a number: %.64s", key, v);
      if (key[0] == 'm') job->memory = num;
      else job->pids = num;
    } else if (strcmp(key, "stopsignal") == 0) {
      if (!number(v, (unsigned long long)SIGRTMAX, &num) || num == 0) return fail("the job's stop signal is no signal: %.64s", v);
      job->stop_signal = (int)num;
    } else if (strcmp(key, "address") == 0 || strcmp(key, "gateway") == 0) {
      if (read_network(key, v, &job->net, "job") != 0) return -1;
    } else if (strcmp(key, "file") == 0) {
      if (v[0] != '/') return fail("the job writes a file whose path is not absolute: %.64s", v);
      job->files[job->nfiles++] = (struct file){ .path = v, .text = words[i + 1] };
    } else if (strcmp(key, "clock") == 0) {
      if (!parse_clock(v, &job->clock)) return fail("the job's clock is not SECONDS.NANOSECONDS: %.64s", v);
      job->has_clock = 1;
    } else if (strcmp(key, "entropy") == 0) {
      size_t len = strlen(v);
      if (len % 2 != 0 || len > 2 * sizeof job->entropy || !hex_bytes(v, job->entropy, len / 2)) return fail("the job's entropy is not %zu bytes at most in hex: %.64s", sizeof job->entropy, v);
      job->entropy_len = len / 2;
    } else if (strcmp(key, "mac") == 0) {
      if (!parse_mac(v, job->net.mac)) return fail("the job's mac is not a unicast AA:BB:CC:DD:EE:FF: %.64s", v);
      job->net.has_mac = 1;
    } else job->hostname = v;
    i += values;
  }
  if (job->argc == 0) return fail("the job has no command");
  // The root goes into overlay's options, which these would end or split.
  if (job->root == NULL || job->root[0] != '/' || strpbrk(job->root, ",:\\") != NULL) return fail("the job's root is not an absolute path without , : or \\: %.64s", job->root != NULL ? job->root : "(none)");
  if (job->workdir[0] != '/') return fail("the job's working directory is not an absolute path: %.64s", job->workdir);
  for (int b = 0; b < job->nbinds; b++) {
    if (job->binds[b].target[0] != '/') return fail("the job binds %.64s to a path that is not absolute: %.64s", job->binds[b].source, job->binds[b].target);
  }
  // The workload's command is looked up on the PATH it is given, in the image.
  if (!path_set) job->env[job->envc++] = DEFAULT_PATH;
  return 0;
}

// The job port is a template's alone (a warm start's), and last: the others are looked for without it.
enum { STDOUT_PORT, STDERR_PORT, STATUS_PORT, CONTROL_PORT, EXEC_PORT, JOB_PORT, NPORTS };
static const char *const port_names[NPORTS] = { "aurae.stdout", "aurae.stderr", "aurae.status", "aurae.control", "aurae.exec", "aurae.job" };
// The control port is read as signals come, the exec port served in turn with the rest; the job port is read once,
// waiting for the host.
static const int port_flags[NPORTS] = { O_WRONLY, O_WRONLY, O_WRONLY, O_RDONLY | O_NONBLOCK, O_RDWR | O_NONBLOCK, O_RDONLY };

// One look at the VM's virtio-serial ports, found by their names: those of the first `count` that are named by now
// and not open yet are opened (their errno in errs when they cannot be).
static void look_for_ports(int fds[NPORTS], int errs[NPORTS], int count) {
  DIR *dir = opendir("/sys/class/virtio-ports");
  struct dirent *e;
  while (dir != NULL && (e = readdir(dir)) != NULL) {
    char path[300], name[64] = { 0 };
    snprintf(path, sizeof path, "/sys/class/virtio-ports/%s/name", e->d_name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ssize_t n = read(fd, name, sizeof name - 1);
    close(fd);
    if (n > 0 && name[n - 1] == '\n') name[n - 1] = '\0';
    for (int i = 0; i < count; i++) {
      if (fds[i] >= 0 || strcmp(name, port_names[i]) != 0) continue;
      snprintf(path, sizeof path, "/dev/%s", e->d_name);
      fds[i] = open(path, port_flags[i] | O_CLOEXEC);
      if (fds[i] < 0) errs[i] = errno;
    }
  }
  if (dir != NULL) closedir(dir);
}

// The virtio-serial ports, found by their names and opened (-1 for a port this VM lacks, its errno in errs). The
// host names each port in a message of its own after adding it, so a name may come a moment after /init loaded
// virtio_console: they are waited for, 10 s at most. The job port is a template's, required there and not looked
// for otherwise.
static void open_ports(int fds[NPORTS], int errs[NPORTS], int template) {
  struct timespec tick = { 0, 10 * 1000 * 1000 };
  for (int i = 0; i < NPORTS; i++) {
    fds[i] = -1;
    errs[i] = ENOENT;
  }
  for (int waited = 0;; waited += 10) {
    look_for_ports(fds, errs, template ? NPORTS : JOB_PORT);
    int required = fds[STDOUT_PORT] >= 0 && fds[STDERR_PORT] >= 0 && fds[STATUS_PORT] >= 0 && (!template || fds[JOB_PORT] >= 0);
    // The control and exec ports may be left out: they get a moment beyond the others (the host names them all at
    // once).
    if ((required && ((fds[CONTROL_PORT] >= 0 && fds[EXEC_PORT] >= 0) || waited >= 200)) || waited >= 10000) return;
    nanosleep(&tick, NULL);
  }
}

// `path` inside the workload's root, resolved there (its symlinks and `..` stay in it, as a container runtime
// resolves them) and made when missing, its directories with mode 0755; an O_PATH descriptor of it.
static int dir_in_root(int root, const char *path) {
  struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
  int fd = (int)syscall(SYS_openat2, root, path, &how, sizeof how);
  if (fd >= 0 || errno != ENOENT) return fd;
  char parent[PATH_MAX];
  if (snprintf(parent, sizeof parent, "%s", path) >= (int)sizeof parent) {
    errno = ENAMETOOLONG;
    return -1;
  }
  size_t len = strlen(parent);
  while (len > 1 && parent[len - 1] == '/') parent[--len] = '\0';
  char *slash = strrchr(parent, '/');
  if (slash == NULL || slash[1] == '\0') return -1;
  const char *name = slash + 1;
  char here[PATH_MAX];
  snprintf(here, sizeof here, "%s", name);
  slash[slash == parent ? 1 : 0] = '\0';
  int up = dir_in_root(root, parent);
  if (up < 0) return -1;
  int made = mkdirat(up, here, 0755) == 0 || errno == EEXIST;
  int err = errno;
  close(up);
  if (!made) {
    errno = err;
    return -1;
  }
  return (int)syscall(SYS_openat2, root, path, &how, sizeof how);
}

// Mounts `source` on `path` inside the workload's root, made when missing; read-only after when `read_only` (a
// bind's flags change only by a remount).
static int mount_in(int root, const char *path, const char *source, const char *type, unsigned long flags, const char *data, int read_only) {
  char at[64];
  int fd = dir_in_root(root, path);
  if (fd < 0) return fail("cannot make %.200s in the image's root: %s", path, strerror(errno));
  snprintf(at, sizeof at, "/proc/self/fd/%d", fd);
  int done = mount(source, at, type, flags, data) == 0;
  int err = errno;
  close(fd);
  if (!done) return fail("cannot mount %.200s on %.200s in the image's root: %s", source, path, strerror(err));
  if (!read_only) return 0;
  // The descriptor above is of the directory under the mount; this one is of the mount.
  if ((fd = dir_in_root(root, path)) >= 0) {
    snprintf(at, sizeof at, "/proc/self/fd/%d", fd);
    done = mount(NULL, at, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) == 0;
    err = errno;
    close(fd);
  }
  if (fd < 0 || !done) return fail("cannot make %.200s read-only in the image's root: %s", path, strerror(fd < 0 ? errno : err));
  return 0;
}

// What the workload's root shows beside the image's files: /proc, a read-only /sys, the guest's /dev (with its
// /dev/pts and /dev/shm), the job's binds and its working directory.
static int fill_root(int root, const struct job *job) {
  const unsigned long base = MS_NOSUID | MS_NODEV | MS_NOEXEC;
  // Its own sysfs and the guest's cgroups read-only, as Docker shows a container its own, so that it can read its
  // limits (/sys/fs/cgroup/workload).
  if (mount_in(root, "/proc", "proc", "proc", base, NULL, 0) != 0 || mount_in(root, "/sys", "sysfs", "sysfs", base | MS_RDONLY, NULL, 0) != 0 ||
      mount_in(root, "/sys/fs/cgroup", "cgroup2", "cgroup2", base | MS_RDONLY, NULL, 0) != 0 || mount_in(root, "/dev", "/dev", NULL, MS_BIND | MS_REC, NULL, 0) != 0) return -1;
  // The node's files (its names) before the binds, which may lie over them as the user asked.
  for (int i = 0; i < job->nfiles; i++) {
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", job->files[i].path);
    char *slash = strrchr(parent, '/');
    const char *name = job->files[i].path + (slash - parent) + 1;
    *slash = '\0';
    int dir = dir_in_root(root, parent[0] == '\0' ? "/" : parent);
    int fd = dir < 0 ? -1 : openat(dir, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    int err = errno;
    if (dir >= 0) close(dir);
    if (fd < 0) return fail("cannot write %.200s in the image's root: %s", job->files[i].path, strerror(err));
    size_t len = strlen(job->files[i].text);
    int done = write(fd, job->files[i].text, len) == (ssize_t)len;
    err = errno;
    close(fd);
    if (!done) return fail("cannot write %.200s in the image's root: %s", job->files[i].path, strerror(err));
  }
  for (int i = 0; i < job->nbinds; i++) {
    if (mount_in(root, job->binds[i].target, job->binds[i].source, NULL, MS_BIND | MS_REC, NULL, job->binds[i].read_only) != 0) return -1;
  }
  int workdir = dir_in_root(root, job->workdir);
  if (workdir < 0) return fail("cannot make the working directory %.200s: %s", job->workdir, strerror(errno));
  close(workdir);
  return 0;
}

// Sets `ifr`'s address field (SIOCSIFADDR, SIOCSIFNETMASK) to `a`.
static void ifr_address(struct ifreq *ifr, struct in_addr a) {
  struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr = a };
  memcpy(&ifr->ifr_addr, &sin, sizeof sin);
}

// Brings up `name`, its flags read first.
static int link_up(int s, const char *name) {
  struct ifreq ifr = { 0 };
  snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
  if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0) return -1;
  ifr.ifr_flags |= IFF_UP;
  return ioctl(s, SIOCSIFFLAGS, &ifr);
}

// The guest's network: lo, and with an address eth0 (virtio-net; its MAC the host's end's unless the network has its
// own, set while eth0 is down) with it and the default route through the gateway, as the node's bridge network gave
// the VM.
static int configure_network(const struct network *net) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0 || link_up(s, "lo") != 0) {
    int err = errno;
    if (s >= 0) close(s);
    return fail("cannot bring up lo: %s", strerror(err));
  }
  if (net->prefix == 0 && net->address.s_addr == 0) {
    close(s);
    return 0;
  }
  struct ifreq ifr = { 0 };
  snprintf(ifr.ifr_name, IFNAMSIZ, "eth0");
  if (net->has_mac) {
    ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
    memcpy(ifr.ifr_hwaddr.sa_data, net->mac, sizeof net->mac);
    if (ioctl(s, SIOCSIFHWADDR, &ifr) != 0) {
      int err = errno;
      close(s);
      return fail("cannot give eth0 the VM's MAC: %s", strerror(err));
    }
  }
  ifr_address(&ifr, net->address);
  int ok = ioctl(s, SIOCSIFADDR, &ifr) == 0;
  ifr_address(&ifr, (struct in_addr){ .s_addr = net->prefix == 0 ? 0 : htonl(~0U << (32 - net->prefix)) });
  ok = ok && ioctl(s, SIOCSIFNETMASK, &ifr) == 0 && link_up(s, "eth0") == 0;
  struct rtentry rt = { 0 };
  struct sockaddr_in any = { .sin_family = AF_INET }, via = { .sin_family = AF_INET, .sin_addr = net->gateway };
  memcpy(&rt.rt_dst, &any, sizeof any);
  memcpy(&rt.rt_genmask, &any, sizeof any);
  memcpy(&rt.rt_gateway, &via, sizeof via);
  rt.rt_flags = RTF_UP | RTF_GATEWAY;
  ok = ok && (net->gateway.s_addr == 0 || ioctl(s, SIOCADDRT, &rt) == 0);
  int err = errno;
  close(s);
  return ok ? 0 : fail("cannot give eth0 the VM's address: %s", strerror(err));
}

// Names the host, when there is a name.
static int name_host(const char *hostname) {
  if (hostname == NULL || hostname[0] == '\0' || sethostname(hostname, strlen(hostname)) == 0) return 0;
  return fail("cannot name the host %.64s: %s", hostname, strerror(errno));
}

// What makes a warm start's copy of its template a machine of its own before anything runs: the host's wall clock
// (the copy's goes on from the template's) and the host's entropy mixed into the kernel's pool, which is reseeded
// with it (every copy starts with the template's pool, and would draw the template's numbers). A kernel too old to
// reseed on demand (ENOTTY, EINVAL) mixes it in at its next reseed.
static int fresh_identity(const struct job *job) {
  if (job->has_clock && clock_settime(CLOCK_REALTIME, &job->clock) != 0) return fail("cannot set the clock to the host's: %s", strerror(errno));
  if (job->entropy_len == 0) return 0;
  struct rand_pool_info *pool = malloc(sizeof *pool + sizeof job->entropy);
  int fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC), ok = 0;
  if (pool != NULL && fd >= 0) {
    *pool = (struct rand_pool_info){ .entropy_count = (int)(8 * job->entropy_len), .buf_size = (int)job->entropy_len };
    memcpy(pool->buf, job->entropy, job->entropy_len);
    ok = ioctl(fd, RNDADDENTROPY, pool) == 0 && (ioctl(fd, RNDRESEEDCRNG) == 0 || errno == ENOTTY || errno == EINVAL);
  }
  int err = pool == NULL ? ENOMEM : errno;
  free(pool);
  if (fd >= 0) close(fd);
  return ok ? 0 : fail("cannot give the kernel the host's entropy: %s", strerror(err));
}

// The workload's root: the image's (read-only) under a tmpfs that takes its writes, filled.
static int make_root(const struct job *job) {
  if ((mkdir("/run/aurae", 0755) != 0 && errno != EEXIST) || (mkdir(WRITABLE, 0755) != 0 && errno != EEXIST) || mount("tmpfs", WRITABLE, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") != 0) return fail("cannot make the workload's writable layer: %s", strerror(errno));
  if (mkdir(WRITABLE "/upper", 0755) != 0 || mkdir(WRITABLE "/work", 0755) != 0 || (mkdir(WORKLOAD_ROOT, 0755) != 0 && errno != EEXIST)) return fail("cannot make the workload's root: %s", strerror(errno));
  char options[PATH_MAX + 128];
  snprintf(options, sizeof options, "lowerdir=%s,upperdir=" WRITABLE "/upper,workdir=" WRITABLE "/work", job->root);
  if (mount("overlay", WORKLOAD_ROOT, "overlay", 0, options) != 0) return fail("cannot mount an overlay of the image's root %.200s: %s", job->root, strerror(errno));
  int root = open(WORKLOAD_ROOT, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) return fail("cannot open the workload's root: %s", strerror(errno));
  int filled = fill_root(root, job);
  close(root);
  return filled;
}

// Writes `text` to one of the kernel's files (cgroupfs): 0, or -1 with errno.
static int put(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = write(fd, text, strlen(text));
  int err = errno;
  close(fd);
  errno = err;
  return n == (ssize_t)strlen(text) ? 0 : -1;
}

// The workload's cgroup, with the job's limits. The root cgroup hands its controllers down although PID 1 is in it
// (it alone is exempt from "no processes in a cgroup whose children have controllers").
static int make_cgroup(const struct job *job) {
  // Memory even without a limit: memory.events counts the OOM killer's kills in the cgroup.
  if (put("/sys/fs/cgroup/cgroup.subtree_control", "+memory") != 0 && job->memory > 0) return fail("cannot enable the memory controller: %s", strerror(errno));
  if (put("/sys/fs/cgroup/cgroup.subtree_control", "+pids") != 0 && job->pids > 0) return fail("cannot enable the pids controller: %s", strerror(errno));
  if (mkdir(CGROUP, 0755) != 0 && errno != EEXIST) return fail("cannot make the workload's cgroup: %s", strerror(errno));
  char n[32];
  if (job->memory > 0) {
    snprintf(n, sizeof n, "%llu", job->memory);
    if (put(CGROUP "/memory.max", n) != 0) return fail("cannot limit the workload's memory to %s bytes: %s", n, strerror(errno));
    if (access(CGROUP "/memory.swap.max", F_OK) == 0 && put(CGROUP "/memory.swap.max", "0") != 0) return fail("cannot keep the workload out of swap: %s", strerror(errno));
  }
  if (job->pids > 0) {
    snprintf(n, sizeof n, "%llu", job->pids);
    if (put(CGROUP "/pids.max", n) != 0) return fail("cannot limit the workload's processes to %s: %s", n, strerror(errno));
  }
  return 0;
}

// How many processes of the workload's cgroup the OOM killer killed.
static unsigned long long oom_kills(void) {
  unsigned long long n = 0;
  char line[128];
  FILE *f = fopen(CGROUP "/memory.events", "re");
  while (f != NULL && fgets(line, sizeof line, f) != NULL) {
    if (sscanf(line, "oom_kill %llu", &n) == 1) break;
  }
  if (f != NULL) fclose(f);
  return n;
}

// Every signal unblocked and handled as by default, as a new program should find them.
static void default_signals(void) {
  sigset_t none;
  sigemptyset(&none);
  for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
  sigprocmask(SIG_SETMASK, &none, NULL);
}

// Tells the parent (on `report`) what failed, with errno's message, and exits with `code`.
static void failed(int report, int code, const char *fmt, ...) __attribute__((noreturn, format(printf, 3, 4)));
static void failed(int report, int code, const char *fmt, ...) {
  int err = errno;
  char msg[600], cause[128];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  snprintf(cause, sizeof cause, "%s", strerror(err));
  cause[0] = (char)tolower((unsigned char)cause[0]);
  size_t len = strlen(msg);
  snprintf(msg + len, sizeof msg - len, ": %s", cause);
  if (write(report, msg, strlen(msg)) < 0) {}
  _exit(code);
}

// What a process of the workload runs: the job's command, or one the host runs beside it on the exec port.
struct command {
  char **argv, **env;
  const char *workdir;
  // Its stdin, stdout and stderr; -1 for /dev/null. With `terminal`, they are one terminal's slave, which becomes
  // the controlling terminal of the command's session, its user's.
  int in, out, err, terminal;
};

// A process of the workload, from the fork to the exec: its own session, in the workload's cgroup and root, as the
// job's user. What fails before the exec goes to the parent on `report`, a pipe that the exec closes unwritten (as
// runc's does); 127 and 126 are a shell's codes for a command that is not there and one that cannot run, 125 is the
// runtime's own failure.
static void start(const struct job *job, const struct command *c, int report) __attribute__((noreturn));
static void start(const struct job *job, const struct command *c, int report) {
  default_signals();
  setsid();
  if (c->terminal && (ioctl(c->in, TIOCSCTTY, 0) != 0 || fchown(c->in, job->uid, (gid_t)-1) != 0)) failed(report, 125, "cannot give the command its terminal");
  if (put(CGROUP "/cgroup.procs", "0") != 0) failed(report, 125, "cannot join the workload's cgroup");
  int null = open("/dev/null", O_RDWR);
  if (null < 0 || dup2(c->in >= 0 ? c->in : null, 0) < 0 || dup2(c->out >= 0 ? c->out : null, 1) < 0 || dup2(c->err >= 0 ? c->err : null, 2) < 0) failed(report, 125, "cannot give the workload its stdin, stdout and stderr");
  if (null > 2) close(null);
  if (chroot(WORKLOAD_ROOT) != 0) failed(report, 125, "cannot enter the workload's root");
  if (chdir(c->workdir) != 0) failed(report, 125, "chdir \"%s\"", c->workdir);
  if (setgroups((size_t)job->ngroups, job->groups) != 0) failed(report, 125, "setgroups");
  if (setgid(job->gid) != 0) failed(report, 125, "setgid %u", (unsigned)job->gid);
  if (setuid(job->uid) != 0) failed(report, 125, "setuid %u", (unsigned)job->uid);
  environ = c->env;
  execvp(c->argv[0], c->argv);
  failed(report, errno == ENOENT || errno == ENOTDIR ? 127 : 126, "exec \"%s\"", c->argv[0]);
}

// Writes a line (or lines) on the status port.
static void tell(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tell(int fd, const char *fmt, ...) {
  char msg[700];
  va_list ap;
  va_start(ap, fmt);
  int len = vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (len > (int)sizeof msg - 1) len = (int)sizeof msg - 1;
  for (int at = 0, n; at < len; at += n) {
    if ((n = (int)write(fd, msg + at, (size_t)(len - at))) <= 0) {
      say("cannot write on the status port: %s", strerror(errno));
      return;
    }
  }
}

// How long the host must take nothing from a port before the guest takes it that it has all it will get: the
// output's ports, whose host ends are pipes (which qemu stops writing into when they are full), and the status
// port, whose host end is a file, which qemu writes as it takes (the pause is for a host whose qemu takes it on
// another thread, as it does under KVM).
#define QUIET_MS 100
#define FILE_QUIET_MS 10

// Waits until the host has taken what the guest wrote on these ports, as nearly as a guest can tell. virtio_console
// has no fsync and does not say what the host has yet to take: qemu takes a write at once unless its end of the port
// refuses more (a full pipe), and then holds the rest back, and loses it if the machine powers off meanwhile. What
// a guest does see is the host taking some: an edge-triggered epoll wakes at each interrupt that gives buffers back.
// So this waits while a port is full (10 s at most) and while the host is still taking, until it has taken nothing
// for `quiet` ms.
static void settle(const int fds[], int n, int quiet) {
  struct epoll_event events[NPORTS];
  struct pollfd full[NPORTS];
  int ep = epoll_create1(EPOLL_CLOEXEC);
  for (int i = 0; i < n; i++) {
    struct epoll_event ev = { .events = EPOLLOUT | EPOLLET };
    if (ep >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev) != 0) {
      close(ep);
      ep = -1;
    }
    full[i] = (struct pollfd){ .fd = fds[i], .events = POLLOUT };
  }
  time_t give_up = time(NULL) + 10;
  for (;;) {
    // Without epoll, the pause is waited out all the same.
    if (ep >= 0 ? epoll_wait(ep, events, n, quiet) > 0 : poll(NULL, 0, quiet) > 0) continue;
    int waiting = 0;
    poll(full, (nfds_t)n, 0);
    for (int i = 0; i < n; i++) waiting |= (full[i].revents & (POLLOUT | POLLHUP | POLLERR)) == 0;
    if (!waiting) break;
    if (time(NULL) >= give_up) {
      say("the host took no output for 10 s; powering off all the same");
      break;
    }
  }
  if (ep >= 0) close(ep);
}

// A message as one line of the status port.
static char *one_line(char *msg) {
  for (char *c = msg; *c != '\0'; c++) {
    if (*c == '\n') *c = ' ';
  }
  return msg;
}

// The exec port. A request is a 4-byte big-endian length, then NUL-ended words as in the job: `id N` first, then
// `arg W`..., `env K=V`..., `workdir P`, `detach 1`, `stdin 1` (the command's stdin is a pipe from here, fed with
// the host's input), `tty ROWSxCOLS` (the command runs on a terminal of its own, a pty of the guest's of that size,
// and the host's input is its keys; TERM=xterm unless the job or the request says otherwise). Then frames go both
// ways: a type byte, the request's id and the data's length (4 bytes each, big-endian), the data. The guest sends
// 'o' stdout (a terminal's one stream), 'e' stderr, 'a' input the command took (its byte count, 4 bytes) and 'x'
// the end; the host sends 'i' input, 'c' the end of input (its stdin's pipe is closed once what came before is in;
// on a terminal, the command's session gets SIGHUP, as from a terminal hung up) and 'w' a window size (rows and
// cols, big-endian u16 each: TIOCSWINSZ on the master, which sends SIGWINCH). A frame's type byte is none a request's
// length starts with (those are shorter than 16 MiB). One command at a time: the host lets one caller in at a time,
// so a request that comes while a command runs means that command's caller has gone, as no one at the host's end
// does.
#define MAX_REQUEST (1 << 20)
#define FRAME_HEAD 9
// Input is bounded as output is: the host sends no more than IN_WINDOW bytes the guest has not said the command
// took (aurae-vm-exec.c's), so that much room holds all that can come for it, and the port is always read.
#define IN_WINDOW (128 * 1024)
// A frame goes out whole in one write: virtio_console takes up to 32 KiB a write as one buffer, and qemu drops a
// departed host's buffers whole, so the next caller sees whole frames only (another request's it skips by their id).
#define FRAME_MAX (32 * 1024)
// What waits to go out is bounded: the command's pipes are read only while a whole frame fits, so a host that takes
// its output slowly slows the command down (its pipes fill) and nothing is dropped. Beyond it, room for the end.
#define OUT_CAP (4 * FRAME_MAX)
#define END_MAX 1024

static uint32_t get32(const unsigned char *b) { return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]; }

static void put32(unsigned char *b, uint32_t v) {
  b[0] = (unsigned char)(v >> 24);
  b[1] = (unsigned char)(v >> 16);
  b[2] = (unsigned char)(v >> 8);
  b[3] = (unsigned char)v;
}

// Queues a frame whose `n` bytes of data are in place already, after its head's room at the end of the queue.
static void exec_frame(struct exec *x, char type, size_t n) {
  unsigned char *head = (unsigned char *)x->buf + x->len;
  head[0] = (unsigned char)type;
  put32(head + 1, x->id);
  put32(head + 5, (uint32_t)n);
  x->len += FRAME_HEAD + n;
}

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

// The command forgotten: its pipes closed, its input dropped; it is reaped as any orphan is.
static void exec_forget(struct exec *x) {
  close_fd(&x->out);
  close_fd(&x->err);
  close_fd(&x->report);
  close_fd(&x->in);
  x->pid = 0;
  x->reaped = x->detach = x->tty = x->input_end = 0;
  x->error_len = 0;
  x->in_off = x->in_len = 0;
  x->unacked = 0;
}

// The command's end, its last frame: `error MESSAGE` when it could not run, then `exit N` or `signal N`.
static void exec_end(struct exec *x, int status) {
  char *data = x->buf + x->len + FRAME_HEAD;
  size_t n = 0;
  x->error[x->error_len] = '\0';
  if (x->error_len > 0) n += (size_t)snprintf(data, END_MAX - FRAME_HEAD, "error %.640s\n", one_line(x->error));
  if (WIFSIGNALED(status)) n += (size_t)snprintf(data + n, END_MAX - FRAME_HEAD - n, "signal %d\n", WTERMSIG(status));
  else n += (size_t)snprintf(data + n, END_MAX - FRAME_HEAD - n, "exit %d\n", WEXITSTATUS(status));
  exec_frame(x, 'x', n);
  exec_forget(x);
}

// A request that cannot run: why, as its end.
static void exec_refuse(struct exec *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void exec_refuse(struct exec *x, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(x->error, sizeof x->error, fmt, ap);
  va_end(ap);
  x->error_len = n < 0 ? 0 : (size_t)n < sizeof x->error ? (size_t)n : sizeof x->error - 1;
  exec_end(x, W_EXITCODE(125, 0));
}

// Every process of the session `sid` sent `sig`: a shell on a terminal puts each of its jobs in a group of its own.
static void kill_session(pid_t sid, int sig) {
  DIR *dir = opendir("/proc");
  struct dirent *e;
  while (dir != NULL && (e = readdir(dir)) != NULL) {
    pid_t pid = (pid_t)atoi(e->d_name);
    if (pid > 1 && getsid(pid) == sid) kill(pid, sig);
  }
  if (dir != NULL) closedir(dir);
}

// The command's caller has gone: its process group is killed, its session on a terminal (unless it was detached,
// then it is left running), and what was to go out to the caller is dropped.
static void exec_abandon(struct exec *x) {
  if (x->pid > 0 && !x->detach) {
    // Its group (and session) outlives it while its children do, and their ID is not given to a new process
    // meanwhile.
    if (x->tty) kill_session(x->pid, SIGKILL);
    kill(-x->pid, SIGKILL);
    if (!x->reaped) kill(x->pid, SIGKILL);
  }
  exec_forget(x);
  x->len = x->sent = 0;
}

// The job's environment with the request's variables in place of its own of the same names.
static char **overlaid(char **env, char **over, int nover) {
  int n = 0;
  while (env[n] != NULL) n++;
  char **out = calloc((size_t)(n + nover + 1), sizeof *out);
  if (out == NULL) return NULL;
  int k = 0;
  for (int i = 0; i < n; i++) {
    size_t name = (size_t)(strchr(env[i], '=') - env[i]) + 1;
    int replaced = 0;
    for (int j = 0; j < nover; j++) replaced |= strncmp(env[i], over[j], name) == 0;
    if (!replaced) out[k++] = env[i];
  }
  for (int j = 0; j < nover; j++) out[k++] = over[j];
  return out;
}

// A pty of the guest's (its devpts is the workload's /dev/pts too), of the size asked: its master for here and its
// slave, opened here so that the master's end comes (EIO) once the command's are closed, whatever befalls it.
static int exec_terminal(const struct winsize *size, int *master, int *slave) {
  char name[64];
  *master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (*master >= 0 && unlockpt(*master) == 0 && ptsname_r(*master, name, sizeof name) == 0 && ioctl(*master, TIOCSWINSZ, size) == 0 &&
      (*slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)) >= 0) return 0;
  int err = errno;
  close_fd(master);
  errno = err;
  return -1;
}

// Starts the command as the workload was started (start()): stdout and stderr each a pipe to here, or /dev/null
// when detached; stdin a pipe from here with `input`, or /dev/null. With `size`, on a terminal of its own instead:
// the master is its output (one stream) and takes its input.
static void exec_start(struct exec *x, char **argv, char **env, const char *workdir, int detach, int input, const struct winsize *size) {
  int out[2] = { -1, -1 }, err[2] = { -1, -1 }, in[2] = { -1, -1 }, report[2] = { -1, -1 }, master = -1, slave = -1;
  int ready = detach || (size != NULL ? exec_terminal(size, &master, &slave) == 0
    : pipe2(out, O_CLOEXEC) == 0 && pipe2(err, O_CLOEXEC) == 0 && (!input || pipe2(in, O_CLOEXEC) == 0));
  pid_t pid = ready && pipe2(report, O_CLOEXEC) == 0 ? fork() : -1;
  if (pid == 0) {
    struct command c = { .argv = argv, .env = env, .workdir = workdir, .in = in[0], .out = out[1], .err = err[1] };
    if (slave >= 0) c = (struct command){ .argv = argv, .env = env, .workdir = workdir, .in = slave, .out = slave, .err = slave, .terminal = 1 };
    start(x->job, &c, report[1]);
  }
  int cause = errno;
  close_fd(&out[1]);
  close_fd(&err[1]);
  close_fd(&in[0]);
  close_fd(&slave);
  close_fd(&report[1]);
  if (pid < 0) {
    close_fd(&out[0]);
    close_fd(&err[0]);
    close_fd(&in[1]);
    close_fd(&master);
    close_fd(&report[0]);
    exec_refuse(x, "cannot start the command%s: %s", size != NULL && !detach ? " on a terminal" : "", strerror(cause));
    return;
  }
  x->pid = pid;
  x->detach = detach;
  x->tty = master >= 0;
  x->out = x->tty ? master : out[0];
  x->err = err[0];
  x->in = x->tty ? fcntl(master, F_DUPFD_CLOEXEC, 0) : in[1];
  x->report = report[0];
  for (int i = 0; i < 4; i++) {
    int fd = i == 0 ? x->out : i == 1 ? x->err : i == 2 ? x->in : x->report;
    if (fd >= 0) fcntl(fd, F_SETFL, O_NONBLOCK);
  }
}

// A terminal's size, `ROWSxCOLS`.
static int terminal_size(const char *v, struct winsize *size) {
  char rows[8];
  unsigned long long r, c;
  const char *by = strchr(v, 'x');
  if (by == NULL || (size_t)(by - v) >= sizeof rows) return 0;
  memcpy(rows, v, (size_t)(by - v));
  rows[by - v] = '\0';
  if (!number(rows, 0xffff, &r) || !number(by + 1, 0xffff, &c)) return 0;
  *size = (struct winsize){ .ws_row = (unsigned short)r, .ws_col = (unsigned short)c };
  return 1;
}

// Whether `env` sets `name` (with its `=`).
static int sets(char **env, const char *name) {
  for (; env != NULL && *env != NULL; env++) {
    if (strncmp(*env, name, strlen(name)) == 0) return 1;
  }
  return 0;
}

// The id at the start of a request's body (`id\0N\0`); -1 if it has none.
static long long request_id(const char *body, size_t n) {
  unsigned long long id;
  if (n < 5 || memcmp(body, "id", 3) != 0 || memchr(body + 3, '\0', n - 3) == NULL || !number(body + 3, UINT32_MAX, &id)) return -1;
  return (long long)id;
}

// A whole request: the command it asks for replaces the one running, if any.
static void exec_request(struct exec *x, char *body, size_t n) {
  size_t nwords = 0;
  for (size_t i = 0; i < n; i++) nwords += body[i] == '\0';
  long long id = n > 0 && body[n - 1] == '\0' ? request_id(body, n) : -1;
  if (id < 0) {
    say("the host sent an exec request that does not start with its id; it is dropped");
    return;
  }
  exec_abandon(x);
  x->id = (uint32_t)id;
  char refusal[160] = "";
  char **words = calloc(nwords, sizeof *words), **argv = calloc(nwords, sizeof *argv), **env = calloc(nwords, sizeof *env), **merged = NULL;
  int argc = 0, envc = 0, detach = 0, input = 0, tty = 0;
  struct winsize size;
  const char *workdir = x->job->workdir;
  if (words == NULL || argv == NULL || env == NULL) snprintf(refusal, sizeof refusal, "out of memory");
  else {
    for (size_t i = 0, at = 0; i < nwords; i++, at += strlen(body + at) + 1) words[i] = body + at;
    for (size_t i = 2; i < nwords && refusal[0] == '\0'; i += 2) {
      const char *key = words[i], *v = i + 1 < nwords ? words[i + 1] : NULL;
      if (v == NULL) snprintf(refusal, sizeof refusal, "the exec request's %.32s has no value", key);
      else if (strcmp(key, "arg") == 0) argv[argc++] = (char *)v;
      else if (strcmp(key, "env") == 0 && strchr(v, '=') != NULL) env[envc++] = (char *)v;
      else if (strcmp(key, "env") == 0) snprintf(refusal, sizeof refusal, "the variable %.64s has no value", v);
      else if (strcmp(key, "workdir") == 0 && v[0] == '/') workdir = v;
      else if (strcmp(key, "workdir") == 0) snprintf(refusal, sizeof refusal, "the working directory is not an absolute path: %.64s", v);
      else if (strcmp(key, "detach") == 0) detach = strcmp(v, "1") == 0;
      else if (strcmp(key, "stdin") == 0) input = strcmp(v, "1") == 0;
      else if (strcmp(key, "tty") == 0 && terminal_size(v, &size)) tty = 1;
      else if (strcmp(key, "tty") == 0) snprintf(refusal, sizeof refusal, "the terminal's size is not ROWSxCOLS: %.64s", v);
      else snprintf(refusal, sizeof refusal, "the exec request has a key this aurae-init does not know: %.64s", key);
    }
    if (refusal[0] == '\0' && argc == 0) snprintf(refusal, sizeof refusal, "the exec request has no command");
    // env has a word's room for it: the request's `tty` is one that is not a variable.
    if (tty && !sets(env, "TERM=") && !sets(x->job->env, "TERM=")) env[envc++] = (char *)"TERM=xterm";
    if (refusal[0] == '\0' && (merged = overlaid(x->job->env, env, envc)) == NULL) snprintf(refusal, sizeof refusal, "out of memory");
  }
  if (refusal[0] != '\0') exec_refuse(x, "%s", refusal);
  else exec_start(x, argv, merged, workdir, detach, input, tty ? &size : NULL);
  free(merged);
  free(words);
  free(argv);
  free(env);
}

// The message being read is dropped (its caller went away before it was whole).
static void exec_drop_message(struct exec *x) {
  free(x->body);
  x->body = NULL;
  x->have = x->need = x->got = 0;
  x->frame = x->skipping = x->began_away = 0;
}

// A request too long to take, read to its end: refused, as its end (its caller waits for one).
static void exec_too_long(struct exec *x) {
  long long id = request_id(x->start, x->got < sizeof x->start ? x->got : sizeof x->start);
  if (id < 0) {
    say("the host sent an exec request of %zu bytes, too long to take, without its id; it is dropped", x->need);
    return;
  }
  exec_abandon(x);
  x->id = (uint32_t)id;
  if (x->need > MAX_REQUEST) exec_refuse(x, "the command and its environment are longer than %d bytes", MAX_REQUEST);
  else exec_refuse(x, "out of memory");
}

// Whether a message that starts with `b` is a frame of the host's.
static int host_frame(unsigned char b) { return b == 'i' || b == 'c' || b == 'w'; }

// Whether the frame coming in is for the command that runs.
static int exec_mine(const struct exec *x) { return x->pid > 0 && get32(x->head + 1) == x->id; }

// A message's head is in: how long it is, and whether it is taken. A frame for no command is skipped.
static void exec_begin(struct exec *x) {
  x->frame = host_frame(x->head[0]);
  if (!x->frame) {
    x->need = get32(x->head);
    x->skipping = x->need > MAX_REQUEST || (x->body = malloc(x->need + 1)) == NULL;
    return;
  }
  x->need = get32(x->head + 5);
  if (x->head[0] == 'w') x->skipping = x->need != sizeof x->size || !exec_mine(x);
  else if (x->head[0] == 'c') x->skipping = x->need != 0 || !exec_mine(x);
  else if (exec_mine(x) && x->need > IN_WINDOW - x->in_len) {
    say("the host sent more input than the guest holds for a command; it is dropped");
    x->skipping = 1;
  }
}

// Where the next bytes of the message coming in go, at most `*room` of them; NULL for bytes skipped. An input
// frame's go straight into the command's input while it takes input.
static char *exec_dest(struct exec *x, size_t *room) {
  *room = x->need - x->got;
  if (x->skipping) return NULL;
  if (!x->frame) return x->body + x->got;
  if (x->head[0] == 'w') return (char *)x->size + x->got;
  if (x->in < 0 || !exec_mine(x)) return NULL;
  if (x->in_off + x->in_len + *room > IN_WINDOW) {
    memmove(x->input, x->input + x->in_off, x->in_len);
    x->in_off = 0;
  }
  return x->input + x->in_off + x->in_len;
}

// A whole message: a request starts its command; the end of input and a window size are the command's.
static void exec_complete(struct exec *x) {
  if (!x->frame) {
    if (x->skipping) exec_too_long(x);
    else exec_request(x, x->body, x->need);
    return;
  }
  if (x->skipping) return;
  if (x->head[0] == 'c') x->input_end = 1;
  if (x->head[0] == 'w' && x->tty) {
    struct winsize ws = { .ws_row = (unsigned short)(x->size[0] << 8 | x->size[1]), .ws_col = (unsigned short)(x->size[2] << 8 | x->size[3]) };
    ioctl(x->in >= 0 ? x->in : x->out, TIOCSWINSZ, &ws);
  }
}

// Reads what the host sent, starting each request once it is whole (one longer than MAX_REQUEST is read to its end
// and refused) and taking its command's frames. Input for the command that runs and does not take it (it closed its
// stdin) is dropped, and counted as taken, so that its caller goes on. Returns 0 when no one is at the host's end
// (or the port failed).
static int exec_take(struct exec *x) {
  char scratch[4096];
  for (;;) {
    size_t head = x->have > 0 && host_frame(x->head[0]) ? FRAME_HEAD : 4, room = 0;
    char *dest = x->have < head ? NULL : exec_dest(x, &room);
    ssize_t n;
    if (x->have < head) n = read(x->port, x->head + x->have, head - x->have);
    else n = read(x->port, dest != NULL ? dest : scratch, dest != NULL || room < sizeof scratch ? room : sizeof scratch);
    if (n > 0 && x->have >= head && x->skipping && !x->frame && x->got < sizeof x->start) {
      size_t keep = sizeof x->start - x->got < (size_t)n ? sizeof x->start - x->got : (size_t)n;
      memcpy(x->start + x->got, scratch, keep);
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      x->seen_away = 0;
      return 1;
    }
    if (n <= 0) {
      x->seen_away = 1;
      return 0;
    }
    x->away_since = 0;
    if (x->have == 0) x->began_away = x->seen_away;
    if (x->have < head) {
      x->have += (size_t)n;
      if (x->have < (host_frame(x->head[0]) ? FRAME_HEAD : 4)) continue;
      exec_begin(x);
    } else {
      x->got += (size_t)n;
      if (x->frame && x->head[0] == 'i' && exec_mine(x)) {
        if (dest != NULL) x->in_len += (size_t)n;
        else x->unacked += (uint32_t)n;
      }
    }
    if (x->got < x->need) continue;
    exec_complete(x);
    exec_drop_message(x);
  }
}

static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

// How long no one must be at the host's end before the command's caller counts as gone. The guest learns of the
// host's comings and goings late: they come on virtio's control queue, which a kernel worker reads apart from the
// data, so a request can come in before the news that its caller has come, and the news that the one before went
// can come after it.
#define AWAY_MS 1000

// No one is at the host's end, as far as the guest knows: the port stays out of the poll set until the host's end
// changes (SIGIO), or until it has been so for AWAY_MS; then the command's caller has gone. It is looked at again
// once a second after that. A request or a frame cut short by its caller's going is dropped at once (qemu drops what
// a departed caller sent and it had not passed on), so that the next caller's starts afresh; unless it began while
// no one seemed to be there: that is the next caller's own, whose coming the guest has yet to hear of.
static void exec_away(struct exec *x) {
  long long now = now_ms();
  if (x->away_since == 0) x->away_since = now;
  if (x->have > 0 && !x->began_away) exec_drop_message(x);
  x->parked = 1;
  x->back = x->away_since + AWAY_MS;
  if (now < x->back) return;
  exec_abandon(x);
  exec_drop_message(x);
  x->back = now + 1000;
}

// Reads the command's output on `fd` into frames of `type` while whole frames fit.
static void exec_output(struct exec *x, int *fd, char type) {
  while (*fd >= 0 && x->len + FRAME_MAX <= OUT_CAP) {
    ssize_t n = read(*fd, x->buf + x->len + FRAME_HEAD, FRAME_MAX - FRAME_HEAD);
    if (n > 0) exec_frame(x, type, (size_t)n);
    else if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    else close_fd(fd);
  }
}

// Writes the input that waits into the command's stdin (its terminal), as fast as it takes it; what it took is told
// to the host. Once all that came before the end of input is in, its pipe is closed, or on a terminal its session
// gets SIGHUP, as from a terminal hung up (aurae-pty does the same). A command that closed its stdin takes no more:
// what comes for it is dropped, and counted as taken.
static void exec_input(struct exec *x) {
  while (x->in >= 0 && x->in_len > 0) {
    ssize_t n = write(x->in, x->input + x->in_off, x->in_len);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
    if (n <= 0) {
      close_fd(&x->in);
      break;
    }
    x->in_off += (size_t)n;
    x->in_len -= (size_t)n;
    x->unacked += (uint32_t)n;
  }
  if (x->in < 0) {
    x->unacked += (uint32_t)x->in_len;
    x->in_len = 0;
  }
  if (x->in_len == 0) x->in_off = 0;
  if (x->input_end && x->in_len == 0) {
    x->input_end = 0;
    if (x->tty && x->pid > 0) kill(-x->pid, SIGHUP);
    close_fd(&x->in);
  }
}

// Tells the host how much input the command took, when there is room for it among what goes out.
static void exec_ack(struct exec *x) {
  if (x->unacked == 0 || x->len + FRAME_HEAD + 4 > OUT_CAP) return;
  put32((unsigned char *)x->buf + x->len + FRAME_HEAD, x->unacked);
  exec_frame(x, 'a', 4);
  x->unacked = 0;
}

// Reads why the command could not run, if it could not; the pipe's end means its exec is done with.
static void exec_report(struct exec *x) {
  while (x->report >= 0) {
    char *at = x->error + x->error_len;
    size_t room = sizeof x->error - 1 - x->error_len;
    char rest[64];
    ssize_t n = read(x->report, room > 0 ? at : rest, room > 0 ? room : sizeof rest);
    if (n > 0 && room > 0) x->error_len += (size_t)n;
    else if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    else if (n <= 0) close_fd(&x->report);
  }
}

// The command's end goes out once it is known: a detached command's as soon as it has started; any other's once it
// has been reaped and both its pipes have ended, after all its output.
static void exec_finish(struct exec *x) {
  if (x->pid == 0 || x->report >= 0) return;
  if (x->detach && x->error_len == 0) exec_end(x, 0);
  else if (x->reaped && x->out < 0 && x->err < 0) exec_end(x, x->status);
}

// Writes what waits to go out, a frame a write, until the port takes no more.
static void exec_flush(struct exec *x) {
  size_t at = 0;
  while (at < x->len) {
    size_t whole = FRAME_HEAD + get32((unsigned char *)x->buf + at + 5);
    ssize_t n = write(x->port, x->buf + at + x->sent, whole - x->sent);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) break;
      say("cannot write on the exec port: %s", strerror(errno));
      at = x->len;
      x->sent = 0;
      break;
    }
    if ((x->sent += (size_t)n) < whole) continue;
    at += whole;
    x->sent = 0;
  }
  memmove(x->buf, x->buf + at, x->len - at);
  x->len -= at;
}

// What the poll waits for: the port unless it is parked, to read and to write while frames wait; the command's
// pipes while a frame fits; its report; its stdin while input waits for it. How long the poll may wait, in ms.
static int exec_poll(struct exec *x, struct pollfd fds[EXEC_FDS]) {
  long long now = now_ms();
  if (x->parked && now >= x->back) x->parked = 0;
  int room = x->len + FRAME_MAX <= OUT_CAP;
  fds[EXEC_PORT_FD] = (struct pollfd){ .fd = x->parked ? -1 : x->port, .events = (short)(POLLIN | (x->len > 0 ? POLLOUT : 0)) };
  fds[EXEC_OUT_FD] = (struct pollfd){ .fd = room ? x->out : -1, .events = POLLIN };
  fds[EXEC_ERR_FD] = (struct pollfd){ .fd = room ? x->err : -1, .events = POLLIN };
  fds[EXEC_REPORT_FD] = (struct pollfd){ .fd = x->report, .events = POLLIN };
  fds[EXEC_IN_FD] = (struct pollfd){ .fd = x->in_len > 0 ? x->in : -1, .events = POLLOUT };
  return x->parked && x->back - now < 1000 ? (int)(x->back - now) : 1000;
}

// One turn of the exec port's service, after a poll. Every descriptor is non-blocking and read until it has no
// more, so the turn never waits.
static void exec_serve(struct exec *x) {
  if (!x->parked && exec_take(x)) x->away_since = 0;
  else if (!x->parked) exec_away(x);
  exec_input(x);
  exec_report(x);
  exec_output(x, &x->out, 'o');
  exec_output(x, &x->err, 'e');
  exec_finish(x);
  exec_ack(x);
  if (!x->parked) exec_flush(x);
}

// A job that cannot run: why, on the console and the status port, before the machine powers off.
static int refuse(int ports[NPORTS]) {
  say("%s", one_line(why));
  if (ports[STATUS_PORT] >= 0) {
    tell(ports[STATUS_PORT], "error %s\nexit 125 0\n", why);
    settle(&ports[STATUS_PORT], 1, FILE_QUIET_MS);
  }
  return power_off();
}

// The job's ports, opened (a template's with its job port): -1 when a required one cannot be; one that may be left
// out is said.
static int job_ports(int ports[NPORTS], int template) {
  int errs[NPORTS];
  open_ports(ports, errs, template);
  for (int i = 0; i < (template ? NPORTS : JOB_PORT); i++) {
    if (ports[i] >= 0) continue;
    if (i == CONTROL_PORT) say("cannot open the port %s (%s): the workload gets no signals from the host", port_names[i], strerror(errs[i]));
    else if (i == EXEC_PORT) say("cannot open the port %s (%s): the host cannot run commands beside the workload", port_names[i], strerror(errs[i]));
    else return fail("cannot open the port %s: %s", port_names[i], errs[i] == ENOENT ? "the VM has none" : strerror(errs[i]));
  }
  return 0;
}

// A VM's workload, its ports open, and the machine's end when it ends.
static int run_job_on(const char *path, int ports[NPORTS], const sigset_t *signals) {
  struct job job = { .workdir = "/", .stop_signal = SIGTERM };
  if (read_job(path, &job) != 0 || fresh_identity(&job) != 0 || make_root(&job) != 0 || make_cgroup(&job) != 0 || configure_network(&job.net) != 0 || name_host(job.hostname) != 0) return refuse(ports);
  int report[2];
  pid_t child = pipe2(report, O_CLOEXEC) == 0 ? fork() : -1;
  if (child < 0) {
    fail("cannot start the workload: %s", strerror(errno));
    return refuse(ports);
  }
  if (child == 0) {
    struct command c = { .argv = job.argv, .env = job.env, .workdir = job.workdir, .in = -1, .out = ports[STDOUT_PORT], .err = ports[STDERR_PORT] };
    close(report[0]);
    start(&job, &c, report[1]);
  }
  close(report[1]);
  char error[600];
  size_t len = 0;
  ssize_t n;
  while (len < sizeof error - 1 && (n = read(report[0], error + len, sizeof error - 1 - len)) > 0) len += (size_t)n;
  error[len] = '\0';
  close(report[0]);
  if (len > 0) say("%s", one_line(error));
  // The host's watchdog waits for this line: a guest that never gets here is ended.
  tell(ports[STATUS_PORT], "started\n");

  // The exec port's host end coming or going, or a request coming in, is a SIGIO from the kernel.
  struct exec x = { .port = ports[EXEC_PORT], .job = &job, .out = -1, .err = -1, .report = -1, .in = -1, .buf = malloc(OUT_CAP + END_MAX), .input = malloc(IN_WINDOW) };
  if (x.port >= 0 && (fcntl(x.port, F_SETOWN, getpid()) != 0 || fcntl(x.port, F_SETFL, O_NONBLOCK | O_ASYNC) != 0)) say("cannot have SIGIO from the exec port: %s", strerror(errno));
  struct watched w = { .pid = child, .name = "the workload", .stop_signal = job.stop_signal, .stop_seconds = 0, .control = ports[CONTROL_PORT], .exec = x.port >= 0 && x.buf != NULL && x.input != NULL ? &x : NULL };
  int status = watch(&w, signals);
  // What it left goes with it, as a PID namespace's processes go with its init; then nothing else holds the ports.
  end_the_rest(0);
  unsigned long long ooms = oom_kills();
  settle(ports, 2, QUIET_MS);
  close(ports[STDOUT_PORT]);
  close(ports[STDERR_PORT]);
  if (len > 0) tell(ports[STATUS_PORT], "error %s\n", error);
  if (WIFSIGNALED(status)) tell(ports[STATUS_PORT], "signal %d %llu\n", WTERMSIG(status), ooms);
  else tell(ports[STATUS_PORT], "exit %d %llu\n", WEXITSTATUS(status), ooms);
  settle(&ports[STATUS_PORT], 1, FILE_QUIET_MS);
  return power_off();
}

// A VM's workload (cold: its job in the initramfs), and the machine's end when it ends.
static int run_job(const char *path, const sigset_t *signals) {
  int ports[NPORTS];
  return job_ports(ports, 0) != 0 ? refuse(ports) : run_job_on(path, ports, signals);
}

// A drive mounted inside the booted root.
struct drive {
  const char *device, *target, *fstype;
  int read_only;
};

// A root drive to boot, as BOOT says it: NUL-ended words as in the job, each key followed by its values.
//
//   device DEV                         the root drive's device, e.g. /dev/vda (required)
//   mode ro|rw                         how it is mounted (required)
//   fstype TYPE                        its filesystem; without it (or empty) each one the kernel has is tried
//   drive DEV TARGET FSTYPE ro|rw      another drive, mounted at TARGET inside the root (made when missing)
//   hostname NAME  address A.B.C.D/N  gateway A.B.C.D    as in a job
//   init PATH                          what runs as PID 1 in the root (the kernel's init= wins; /sbin/init when
//                                      neither says, or it is empty)
struct boot {
  const char *device, *fstype, *init, *hostname;
  // -1 until the mode is given.
  int read_only;
  struct drive *drives;
  int ndrives;
  struct network net;
};

// `ro` or `rw`, into *read_only; 0 for anything else.
static int ro_or_rw(const char *v, int *read_only) {
  if (strcmp(v, "ro") != 0 && strcmp(v, "rw") != 0) return 0;
  *read_only = v[1] == 'o';
  return 1;
}

// Whether `path` is absolute with no `..` among its components.
static int plain_path(const char *path) {
  if (path[0] != '/') return 0;
  for (const char *c = path; (c = strstr(c, "..")) != NULL; c += 2) {
    if (c[-1] == '/' && (c[2] == '/' || c[2] == '\0')) return 0;
  }
  return 1;
}

// The kernel command line's init= (the last, as the kernel takes it; none after `--`, which is init's own), or NULL.
// initramfs-tools honours it over the root's /sbin/init, and so does this.
static const char *kernel_init(void) {
  static char line[4096];
  int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
  ssize_t n = fd < 0 ? -1 : read(fd, line, sizeof line - 1);
  if (fd >= 0) close(fd);
  line[n > 0 ? n : 0] = '\0';
  const char *init = NULL;
  char *save = NULL;
  for (char *w = strtok_r(line, " \t\n", &save); w != NULL && strcmp(w, "--") != 0; w = strtok_r(NULL, " \t\n", &save)) {
    if (strncmp(w, "init=", 5) == 0 && w[5] != '\0') init = w + 5;
  }
  return init;
}

// Reads BOOT into `b` (its defaults set). A key it does not know refuses the boot.
static int read_boot(const char *path, struct boot *b) {
  size_t nwords;
  char **words = read_words(path, "boot file", &nwords);
  if (words == NULL) return -1;
  b->drives = calloc(nwords + 1, sizeof *b->drives);
  static const char *const keys[] = { "device", "mode", "fstype", "drive", "hostname", "address", "gateway", "init" };
  for (size_t i = 0; i < nwords;) {
    const char *key = words[i++];
    int known = 0;
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) known |= strcmp(key, keys[k]) == 0;
    if (!known) return fail("the boot file has a key this aurae-init does not know: %.64s", key);
    size_t values = strcmp(key, "drive") == 0 ? 4 : 1;
    if (i + values > nwords) return fail("the boot file's %.32s has no value", key);
    const char *v = words[i];
    if (strcmp(key, "device") == 0) b->device = v;
    else if (strcmp(key, "mode") == 0) {
      if (!ro_or_rw(v, &b->read_only)) return fail("the boot file's mode is neither ro nor rw: %.64s", v);
    } else if (strcmp(key, "fstype") == 0) b->fstype = v;
    else if (strcmp(key, "drive") == 0) {
      struct drive *d = &b->drives[b->ndrives++];
      *d = (struct drive){ .device = v, .target = words[i + 1], .fstype = words[i + 2] };
      if (!ro_or_rw(words[i + 3], &d->read_only)) return fail("the boot file's drive %.64s is neither ro nor rw", v);
      if (!plain_path(d->target)) return fail("the boot file mounts %.64s at %.64s, which is not an absolute path without ..", v, d->target);
    } else if (strcmp(key, "init") == 0) b->init = v[0] != '\0' ? v : DEFAULT_INIT;
    else if (strcmp(key, "hostname") == 0) b->hostname = v;
    else if (read_network(key, v, &b->net, "boot file") != 0) return -1;
    i += values;
  }
  if (b->device == NULL || b->device[0] != '/') return fail("the boot file names no root drive (device /dev/NAME): %.64s", b->device != NULL ? b->device : "(none)");
  if (b->read_only < 0) return fail("the boot file does not say how to mount the root drive (mode ro or rw)");
  const char *given = kernel_init();
  if (given != NULL) b->init = given;
  if (b->init[0] != '/') return fail("the init to run is not an absolute path: %.64s", b->init);
  return 0;
}

// Waits for a device, which its driver may add a moment after its module loaded: a look every 10 ms, 5 s at most.
static int wait_for(const char *device) {
  struct timespec tick = { 0, 10 * 1000 * 1000 };
  for (int waited = 0; access(device, F_OK) != 0; waited += 10) {
    if (waited >= 5000) return fail("the drive %.200s did not appear within 5 s", device);
    nanosleep(&tick, NULL);
  }
  return 0;
}

// Mounts `device` on `at` as `fstype`; when that is empty, as each filesystem the kernel has for a block device
// (those /proc/filesystems does not mark nodev) until one takes it, as the kernel mounts its own root. -1 with the
// errno of the last it tried, whose names are in `tried`.
static int mount_as(const char *device, const char *at, const char *fstype, unsigned long flags, char *tried, size_t size) {
  if (fstype != NULL && fstype[0] != '\0') {
    snprintf(tried, size, "%s", fstype);
    return mount(device, at, fstype, flags, NULL);
  }
  FILE *f = fopen("/proc/filesystems", "re");
  char line[128], type[64];
  int err = ENODEV;
  size_t len = (size_t)snprintf(tried, size, "any of"), none = len;
  while (f != NULL && fgets(line, sizeof line, f) != NULL) {
    if (strncmp(line, "nodev", 5) == 0 || sscanf(line, "%63s", type) != 1) continue;
    if (len < size) len += (size_t)snprintf(tried + len, size - len, "%s %s", len > none ? "," : "", type);
    // Silent: the kernel's complaint of each type that does not fit would bury the one line that matters.
    if (mount(device, at, type, flags | MS_SILENT, NULL) == 0) {
      fclose(f);
      return 0;
    }
    err = errno;
  }
  if (f != NULL) fclose(f);
  if (len == none) snprintf(tried, size, "any filesystem (the kernel has none for a drive)");
  errno = err;
  return -1;
}

// The root drive, mounted at NEWROOT: an O_PATH descriptor of it, or -1.
static int mount_root(const struct boot *b) {
  char tried[256];
  if (wait_for(b->device) != 0) return -1;
  if (mkdir(NEWROOT, 0755) != 0 && errno != EEXIST) return fail("cannot make " NEWROOT ": %s", strerror(errno));
  if (mount_as(b->device, NEWROOT, b->fstype, b->read_only ? MS_RDONLY : 0, tried, sizeof tried) != 0) return fail("cannot mount the root drive %.64s as %.200s: %s", b->device, tried, strerror(errno));
  int root = open(NEWROOT, O_PATH | O_DIRECTORY | O_CLOEXEC);
  return root >= 0 ? root : fail("cannot open the root drive: %s", strerror(errno));
}

// The other drives, each at its target in the new root: resolved there (an absolute symlink stays in it) and made
// when missing, which a read-only root refuses.
static int mount_drives(int root, const struct boot *b) {
  for (int i = 0; i < b->ndrives; i++) {
    const struct drive *d = &b->drives[i];
    char tried[256], at[64];
    if (wait_for(d->device) != 0) return -1;
    int fd = dir_in_root(root, d->target);
    if (fd < 0) return fail("cannot make %.200s on the root drive for the drive %.64s: %s", d->target, d->device, strerror(errno));
    snprintf(at, sizeof at, "/proc/self/fd/%d", fd);
    int done = mount_as(d->device, at, d->fstype, d->read_only ? MS_RDONLY : 0, tried, sizeof tried) == 0;
    int err = errno;
    close(fd);
    if (!done) return fail("cannot mount the drive %.64s on %.200s as %.200s: %s", d->device, d->target, tried, strerror(err));
  }
  return 0;
}

// Whether the root's init is a file that can run, resolved in the root as it will be once the root is / (/sbin/init
// is often an absolute symlink): checked while there is a way back, so that a drive without one is a reason on the
// console, not the kernel's panic.
static int check_init(int root, const char *init) {
  struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
  int fd = (int)syscall(SYS_openat2, root, init, &how, sizeof how);
  if (fd < 0) return fail("the root drive has no init %.200s: %s", init, strerror(errno));
  struct stat st;
  int file = fstat(fd, &st) == 0 && S_ISREG(st.st_mode), runs = file && faccessat(fd, "", X_OK, AT_EMPTY_PATH) == 0;
  int err = errno;
  close(fd);
  if (!file) return fail("the root drive's init %.200s is not a file", init);
  return runs ? 0 : fail("the root drive's init %.200s cannot run: %s", init, strerror(err));
}

// /dev, /proc, /sys and /run moved into the new root with what is mounted under them (/dev/pts, /dev/shm, the
// cgroups under /sys), as switch_root moves them; one the root has no directory for is let go.
static void move_system(void) {
  static const char *const dirs[] = { "/dev", "/proc", "/sys", "/run" };
  for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
    char target[64];
    struct stat st;
    snprintf(target, sizeof target, NEWROOT "%s", dirs[i]);
    int there = stat(target, &st) == 0 && S_ISDIR(st.st_mode);
    if (there && mount(dirs[i], target, NULL, MS_MOVE, NULL) == 0) continue;
    if (there) say("cannot move %s into the root drive: %s", dirs[i], strerror(errno));
    umount2(dirs[i], MNT_DETACH);
  }
}

// Deletes what the directory `dir` holds on the device `dev`, deepest first; what another filesystem has mounted
// (the new root among them) is left alone.
static void remove_tree(int dir, dev_t dev) {
  DIR *d = fdopendir(dir);
  if (d == NULL) {
    close(dir);
    return;
  }
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    struct stat st;
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || st.st_dev != dev) continue;
    if (S_ISDIR(st.st_mode)) {
      int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub >= 0) remove_tree(sub, dev);
    }
    unlinkat(dirfd(d), e->d_name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0);
  }
  closedir(d);
}

// The root drive made / as switch_root makes it: the system's mounts moved into it, the initramfs's files deleted
// (their memory is the guest's; the initramfs stays mounted under the new root, empty), the new root moved onto /.
// Only from an initramfs (a ramfs or a tmpfs): anything else is no one's to delete.
static int switch_root(void) {
  struct statfs fs;
  struct stat st;
  int old = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (old < 0 || fstatfs(old, &fs) != 0 || fstat(old, &st) != 0) return fail("cannot look at the initramfs: %s", strerror(errno));
  if (fs.f_type != RAMFS_MAGIC && fs.f_type != TMPFS_MAGIC) {
    close(old);
    return fail("/ is no initramfs (neither a ramfs nor a tmpfs), so no root drive replaces it");
  }
  move_system();
  remove_tree(old, st.st_dev);
  if (chdir(NEWROOT) != 0 || mount(".", "/", NULL, MS_MOVE, NULL) != 0 || chroot(".") != 0 || chdir("/") != 0) return fail("cannot make the root drive /: %s", strerror(errno));
  return 0;
}

// A boot that cannot go on: why, on the console and on the status port, before the machine powers off. A VM that
// boots a root drive need not have the port, so it is looked for a second at most.
static int boot_refuse(void) {
  struct timespec tick = { 0, 10 * 1000 * 1000 };
  int ports[NPORTS], errs[NPORTS];
  for (int i = 0; i < NPORTS; i++) ports[i] = -1;
  for (int waited = 0; waited < 1000; waited += 10) {
    look_for_ports(ports, errs, JOB_PORT);
    if (ports[STATUS_PORT] >= 0) break;
    nanosleep(&tick, NULL);
  }
  return refuse(ports);
}

// Boots the root drive BOOT names: the modules for it (MODULES/boot-order), the network and the host's name, the
// drive and the others mounted, and the root's init run as PID 1 in place of this process, with nothing of it but
// the console, clean signals and a plain environment. Returns only when it cannot, having said why and powered off.
static int boot_root(const char *path) {
  struct boot b = { .init = DEFAULT_INIT, .read_only = -1 };
  int root = -1;
  load_modules(MODULES "/boot-order");
  if (read_boot(path, &b) != 0 || configure_network(&b.net) != 0 || name_host(b.hostname) != 0 || (root = mount_root(&b)) < 0 ||
      mount_drives(root, &b) != 0 || check_init(root, b.init) != 0 || switch_root() != 0) return boot_refuse();
  // What this process has open (the root's descriptor among it) is not the new init's.
  close_range(3, ~0U, 0);
  int console = open("/dev/console", O_RDWR);
  for (int fd = 0; console >= 0 && fd < 3; fd++) dup2(console, fd);
  if (console > 2) close(console);
  default_signals();
  char *argv[] = { (char *)b.init, NULL }, *env[] = { "HOME=/", "TERM=linux", DEFAULT_PATH, NULL };
  execve(b.init, argv, env);
  fail("cannot run the root drive's init %.200s: %s", b.init, strerror(errno));
  return boot_refuse();
}

// A template's image (TEMPLATE: `device DEV`, `root PATH`, `fstype TYPE`), mounted read-only at its root, where
// the job's root will name it: every copy of the VM shares the drive.
static int mount_image(void) {
  size_t nwords;
  char **words = read_words(TEMPLATE, "template file", &nwords);
  const char *device = NULL, *root = NULL, *fstype = NULL;
  char tried[256];
  if (words == NULL) return -1;
  if (nwords % 2 != 0) return fail("the template file's %.32s has no value", words[nwords - 1]);
  for (size_t i = 0; i < nwords; i += 2) {
    const char *key = words[i], **to = strcmp(key, "device") == 0 ? &device : strcmp(key, "root") == 0 ? &root : strcmp(key, "fstype") == 0 ? &fstype : NULL;
    if (to == NULL) return fail("the template file has a key this aurae-init does not know: %.64s", key);
    *to = words[i + 1];
  }
  if (device == NULL || device[0] != '/') return fail("the template file names no drive (device /dev/NAME): %.64s", device != NULL ? device : "(none)");
  // The root goes into the overlay's options, as a job's does.
  if (root == NULL || root[0] != '/' || strpbrk(root, ",:\\") != NULL) return fail("the template file's root is not an absolute path without , : or \\: %.64s", root != NULL ? root : "(none)");
  load_modules(MODULES "/boot-order");
  if (wait_for(device) != 0) return -1;
  make_dirs(root);
  if (mount_as(device, root, fstype, MS_RDONLY | MS_NODEV, tried, sizeof tried) != 0) return fail("cannot mount the image's drive %.64s on %.200s as %.200s: %s", device, root, tried, strerror(errno));
  return 0;
}

// Reads exactly `n` bytes from the job port. Reading nothing means no one is at the host's end yet (a restored
// copy's host may connect it a moment later): it is read again every 10 ms, 60 s of that at most.
static int read_port(int fd, char *buf, size_t n, int *waited) {
  struct timespec tick = { 0, 10 * 1000 * 1000 };
  for (size_t have = 0; have < n;) {
    ssize_t got = read(fd, buf + have, n - have);
    if (got > 0) have += (size_t)got;
    else if (got < 0 && errno != EINTR) return fail("cannot read the port aurae.job: %s", strerror(errno));
    else if (got == 0 && (*waited += 10) > 60000) return fail("no job came on aurae.job within 60 s");
    else if (got == 0) nanosleep(&tick, NULL);
  }
  return 0;
}

// The job the host sends a copy on the job port (its length in decimal, a newline, its bytes), written to JOB.
static int receive_job(int port) {
  char head[16], *text;
  size_t len = 0;
  int waited = 0;
  unsigned long long size;
  for (;; len++) {
    if (len == sizeof head) return fail("the host sent no job's length on aurae.job");
    if (read_port(port, &head[len], 1, &waited) != 0) return -1;
    if (head[len] == '\n') break;
  }
  head[len] = '\0';
  if (!number(head, MAX_JOB, &size) || size == 0) return fail("the host sent a job's length that is not 1 to %d on aurae.job: %.16s", MAX_JOB, head);
  if ((text = malloc(size)) == NULL) return fail("out of memory");
  int done = read_port(port, text, size, &waited) == 0, fd = done ? open(JOB, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
  ssize_t wrote = fd >= 0 ? write(fd, text, size) : -1;
  int err = wrote < 0 ? errno : ENOSPC;
  free(text);
  if (fd >= 0) close(fd);
  if (done && wrote != (ssize_t)size) return fail("cannot write " JOB ": %s", strerror(err));
  return done ? 0 : -1;
}

// A template VM (TEMPLATE): it gets as far as every copy of it may, says `template` for the host to save it, and
// each copy the host restores runs the job it is sent. Returns only once the machine is to power off.
static int run_template(const sigset_t *signals) {
  int ports[NPORTS];
  if (mount_image() != 0) return boot_refuse();
  if (job_ports(ports, 1) != 0) return refuse(ports);
  tell(ports[STATUS_PORT], "template\n");
  settle(&ports[STATUS_PORT], 1, FILE_QUIET_MS);
  // From here on this is a copy, with the host's ends of its ports its own.
  int got = receive_job(ports[JOB_PORT]);
  close(ports[JOB_PORT]);
  return got != 0 ? refuse(ports) : run_job_on(JOB, ports, signals);
}

// A nested node's network and name, from NETWORK when the initramfs has it: NUL-ended words, `hostname NAME`,
// `address A.B.C.D/N` and `gateway A.B.C.D` as a job's. Its auraed listens on that address for its host.
static int command_network(void) {
  if (access(NETWORK, F_OK) != 0) return 0;
  size_t nwords;
  char **words = read_words(NETWORK, "network file", &nwords);
  if (words == NULL) return -1;
  struct network net = { 0 };
  const char *hostname = NULL;
  for (size_t i = 0; i + 1 < nwords; i += 2) {
    if (strcmp(words[i], "hostname") == 0) hostname = words[i + 1];
    else if (strcmp(words[i], "address") != 0 && strcmp(words[i], "gateway") != 0) return fail("the network file has a key this aurae-init does not know: %.64s", words[i]);
    else if (read_network(words[i], words[i + 1], &net, "network file") != 0) return -1;
  }
  if (nwords % 2 != 0) return fail("the network file's %.32s has no value", words[nwords - 1]);
  return configure_network(&net) != 0 || name_host(hostname) != 0 ? -1 : 0;
}

int main(int argc, char **argv) {
  int pid1 = getpid() == 1;
  // The kernel's /init, run with no arguments: the machine's modules and shares first, then what the initramfs says
  // to run, a job or the guest's auraed.
  int boot = pid1 && argc == 1;
  if (boot) {
    mount_system(0);
    load_modules(MODULES "/order");
    mount_shares();
    // A root drive comes first: its own init takes PID 1 from here.
    if (access(BOOT, F_OK) == 0) return boot_root(BOOT);
  }
  // A template's job comes later, into JOB.
  int template = boot && access(TEMPLATE, F_OK) == 0;
  const char *job = boot ? (template || access(JOB, F_OK) == 0 ? JOB : NULL) : argc == 3 && strcmp(argv[1], "--job") == 0 ? argv[2] : NULL;
  char **command = boot ? boot_command() : &argv[argc > 1 && strcmp(argv[1], "--") == 0 ? 2 : 1];
  if (job == NULL && (command == NULL || command[0] == NULL)) {
    say(boot ? "the initramfs names nothing to run (" JOB " or " COMMAND ")" : "usage: aurae-init [--] COMMAND [ARG...], or aurae-init --job FILE");
    return boot ? power_off() : 2;
  }
  if (boot && job == NULL && command_network() != 0) {
    say("%s", why);
    return power_off();
  }
  if (job != NULL && !pid1) {
    say("--job is for a VM's PID 1");
    return 2;
  }
  // Outside PID 1 (a test), orphans under it still come here.
  if (!pid1) prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  if (pid1 && !boot) mount_system(job != NULL);
  // Ctrl-Alt-Del becomes SIGINT to init instead of an immediate reboot.
  if (pid1 && initial_pid_ns()) reboot(RB_DISABLE_CAD);

  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old);
  return template ? run_template(&all) : job != NULL ? run_job(job, &all) : run_command(command, pid1, &all, &old);
}
