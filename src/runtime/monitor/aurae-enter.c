// aurae-enter: runs a command inside a running container, as `runc exec` does, in a few milliseconds instead of
// 20-30 (runc is a Go program that starts twice and compiles its seccomp filter on every exec).
//
//   aurae-enter PLAN PID START ERRFILE [-e KEY=VALUE]... [-w DIR] -- COMMAND [ARG...]
//
// PLAN is the file the daemon wrote beside the container's config.json when it made the container: the process
// the container's config describes (user, groups, environment, working directory, capabilities, no_new_privs,
// rlimits, oom_score_adj, the seccomp filter) and the container's cgroups path. PID is the container's process
// and START its start time (clock ticks since boot, /proc/PID/stat field 22): a PID reused by anything else, or
// one outside the container's cgroup, is refused.
//
// In order, as runc's exec: join every cgroup PID is in; setns into its namespaces through a pidfd (all at once,
// so a process that ends meanwhile fails the join instead of half of it); fork, so the child is in the PID
// namespace; the child starts a session, takes the environment, rlimits and oom_score_adj, changes to the user
// while keeping its capabilities, drops the bounding set to the container's, sets the capability sets and
// no_new_privs, loads the seccomp filter last, and execs. The process is not dumpable until the exec, so nothing
// in the container can open this binary through /proc while it runs there.
//
// The parent passes on SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2, and exits with the command's status
// (128+N when signal N ended it). A failure of its own goes to ERRFILE as one line, "CODE message" (with ERRFILE
// "-", to stderr as aurae says it), with Docker's codes: 127 when the command is not found, 126 when it cannot be run, 125 for anything else; the command's own
// stdout and stderr stay its own.
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <grp.h>

#define MAX_ITEMS 4096
// The most of a file read here: the plan, /proc files, and the container's /etc/passwd.
#define MAX_FILE (8 << 20)

extern char **environ;

// ERRFILE, opened before anything else: inside the container its path would name a file of the container's.
static int err_fd = -1;

// Says why in ERRFILE (or, without one, on stderr) and exits with `code`.
static void fail(int code, const char *fmt, ...) {
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (err_fd >= 0) dprintf(err_fd, "%d %s\n", code, msg);
  else dprintf(2, "aurae: cannot run the command in the container: %s\n", msg);
  _exit(code);
}

// The whole of a small file, NUL-terminated (its length in *len); NULL for anything but a file or a /proc entry
// of at most MAX_FILE bytes: a FIFO the container put at /etc/passwd must not hold the exec forever.
static char *read_file(const char *path, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return NULL;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    errno = EINVAL;
    return NULL;
  }
  size_t cap = 65536, n = 0;
  char *buf = malloc(cap + 1);
  for (;;) {
    if (n == cap) {
      if (cap >= MAX_FILE) break;
      cap *= 2;
      buf = realloc(buf, cap + 1);
    }
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    n += (size_t)r;
  }
  close(fd);
  buf[n] = '\0';
  if (len != NULL) *len = n;
  return buf;
}

// The plan, as the daemon wrote it: NUL-separated records, each "KIND VALUE".
struct plan {
  const char *cgroups_path;
  uid_t uid;
  gid_t gid;
  gid_t groups[NGROUPS_MAX];
  int ngroups;
  const char *cwd;
  const char *env[MAX_ITEMS];
  int nenv;
  int nnp;
  uint64_t bounding, effective, permitted, inheritable, ambient;
  int have_caps;
  struct { int resource; rlim_t soft, hard; } rlimits[64];
  int nrlimits;
  const char *oom;
  const char *seccomp_default;
  const char *seccomp_arches[16];
  int narches;
  const char *seccomp_rules[MAX_ITEMS];
  int nrules;
};

static uint64_t number(const char *s, const char *what) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 0);
  if (errno != 0 || end == s || (*end != '\0' && *end != ' ')) fail(125, "the exec plan has a bad %s: %s", what, s);
  return v;
}

static void read_plan(const char *path, struct plan *p) {
  size_t len;
  char *buf = read_file(path, &len);
  if (buf == NULL) fail(125, "cannot read the exec plan %s: %s", path, strerror(errno));
  memset(p, 0, sizeof *p);
  p->cwd = "/";
  for (char *rec = buf, *next; rec < buf + len; rec = next) {
    next = rec + strlen(rec) + 1;
    char *value = strchr(rec, ' ');
    if (value == NULL) continue;
    *value++ = '\0';
    if (strcmp(rec, "cgroups-path") == 0) p->cgroups_path = value;
    else if (strcmp(rec, "uid") == 0) p->uid = (uid_t)number(value, "uid");
    else if (strcmp(rec, "gid") == 0) p->gid = (gid_t)number(value, "gid");
    else if (strcmp(rec, "group") == 0 && p->ngroups < NGROUPS_MAX) p->groups[p->ngroups++] = (gid_t)number(value, "group");
    else if (strcmp(rec, "cwd") == 0) p->cwd = value;
    else if (strcmp(rec, "env") == 0 && p->nenv < MAX_ITEMS - 1) p->env[p->nenv++] = value;
    else if (strcmp(rec, "nnp") == 0) p->nnp = number(value, "nnp") != 0;
    else if (strcmp(rec, "caps") == 0) {
      unsigned long long c[5];
      if (sscanf(value, "%llx %llx %llx %llx %llx", &c[0], &c[1], &c[2], &c[3], &c[4]) != 5) fail(125, "the exec plan has bad capabilities: %s", value);
      p->bounding = c[0], p->effective = c[1], p->permitted = c[2], p->inheritable = c[3], p->ambient = c[4];
      p->have_caps = 1;
    } else if (strcmp(rec, "rlimit") == 0 && p->nrlimits < 64) {
      int r;
      unsigned long long soft, hard;
      if (sscanf(value, "%d %llu %llu", &r, &soft, &hard) != 3) fail(125, "the exec plan has a bad rlimit: %s", value);
      p->rlimits[p->nrlimits].resource = r;
      p->rlimits[p->nrlimits].soft = (rlim_t)soft;
      p->rlimits[p->nrlimits].hard = (rlim_t)hard;
      p->nrlimits++;
    } else if (strcmp(rec, "oom") == 0) p->oom = value;
    else if (strcmp(rec, "seccomp-default") == 0) p->seccomp_default = value;
    else if (strcmp(rec, "seccomp-arch") == 0 && p->narches < 16) p->seccomp_arches[p->narches++] = value;
    else if (strcmp(rec, "seccomp") == 0 && p->nrules < MAX_ITEMS) p->seccomp_rules[p->nrules++] = value;
    else fail(125, "the exec plan has an unknown record: %s", rec);
  }
  if (p->cgroups_path == NULL) fail(125, "the exec plan names no cgroups path");
}

// The start time of PID (field 22 of its stat), 0 when it is gone or a zombie.
static unsigned long long start_time(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  char *stat = read_file(path, NULL);
  if (stat == NULL) return 0;
  char *s = strrchr(stat, ')');
  unsigned long long start = 0;
  if (s != NULL && s[1] == ' ' && s[2] != 'Z' && s[2] != 'X') {
    s += 2;
    for (int field = 3; field < 22 && s != NULL; field++) s = strchr(s + 1, ' ');
    if (s != NULL) start = strtoull(s + 1, NULL, 10);
  }
  free(stat);
  return start;
}

// The mount point of the cgroup hierarchy with these controllers ("" for the unified one), from mountinfo.
static int hierarchy_of(const char *mountinfo, const char *controllers, char *out, size_t outlen) {
  for (const char *line = mountinfo; *line != '\0';) {
    const char *eol = strchr(line, '\n');
    size_t n = eol != NULL ? (size_t)(eol - line) : strlen(line);
    char buf[4096];
    if (n < sizeof buf) {
      memcpy(buf, line, n);
      buf[n] = '\0';
      // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS
      char *fields[6] = { 0 };
      char *save = NULL, *tok = strtok_r(buf, " ", &save);
      for (int i = 0; i < 6 && tok != NULL; i++, tok = strtok_r(NULL, " ", &save)) fields[i] = tok;
      while (tok != NULL && strcmp(tok, "-") != 0) tok = strtok_r(NULL, " ", &save);
      char *fstype = tok != NULL ? strtok_r(NULL, " ", &save) : NULL;
      char *source = fstype != NULL ? strtok_r(NULL, " ", &save) : NULL;
      char *super = source != NULL ? strtok_r(NULL, " ", &save) : NULL;
      int match = 0;
      if (fields[4] != NULL && fields[3] != NULL && strcmp(fields[3], "/") == 0 && fstype != NULL) {
        if (controllers[0] == '\0') match = strcmp(fstype, "cgroup2") == 0;
        else if (strcmp(fstype, "cgroup") == 0 && super != NULL) {
          // Every controller of the line among the mount's options.
          match = 1;
          char want[512];
          snprintf(want, sizeof want, "%s", controllers);
          char *s2 = NULL;
          for (char *c = strtok_r(want, ",", &s2); c != NULL && match; c = strtok_r(NULL, ",", &s2)) {
            size_t cl = strlen(c);
            const char *o = super;
            int found = 0;
            while (o != NULL && !found) {
              if (strncmp(o, c, cl) == 0 && (o[cl] == ',' || o[cl] == '\0')) found = 1;
              o = strchr(o, ',');
              if (o != NULL) o++;
            }
            match = found;
          }
        }
      }
      if (match) {
        snprintf(out, outlen, "%s", fields[4]);
        return 1;
      }
    }
    line += n + (eol != NULL ? 1 : 0);
  }
  return 0;
}

// Joins every cgroup PID is in, once one of them is found to be the container's own.
static void join_cgroups(pid_t pid, const char *cgroups_path) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/cgroup", pid);
  char *cgroups = read_file(path, NULL);
  char *mountinfo = read_file("/proc/self/mountinfo", NULL);
  if (cgroups == NULL || mountinfo == NULL) fail(125, "the container's process %d is gone", pid);
  // ID:CONTROLLERS:PATH per line, split in place.
  char *lines[64];
  int n = 0, ours = 0;
  char *save = NULL;
  for (char *line = strtok_r(cgroups, "\n", &save); line != NULL && n < 64; line = strtok_r(NULL, "\n", &save)) {
    char *c = strchr(line, ':');
    char *p = c != NULL ? strchr(c + 1, ':') : NULL;
    if (p == NULL) continue;
    *p = '\0';
    if (strcmp(p + 1, cgroups_path) == 0) ours = 1;
    lines[n++] = c + 1;
  }
  if (!ours) fail(125, "process %d is not the container's (not in cgroup %s)", pid, cgroups_path);
  char self[32];
  snprintf(self, sizeof self, "%d", getpid());
  for (int i = 0; i < n; i++) {
    const char *controllers = lines[i];
    const char *p = controllers + strlen(controllers) + 1;
    char mount[PATH_MAX], procs[PATH_MAX * 2];
    if (!hierarchy_of(mountinfo, controllers, mount, sizeof mount)) continue;
    snprintf(procs, sizeof procs, "%s%s/cgroup.procs", mount, p);
    int fd = open(procs, O_WRONLY | O_CLOEXEC);
    // A hierarchy the container's cgroup was never made in (one nothing manages) is left as it is, as runc does.
    if (fd < 0 && errno == ENOENT) continue;
    if (fd < 0 || write(fd, self, strlen(self)) < 0) fail(125, "cannot join the container's cgroup %s: %s", procs, strerror(errno));
    close(fd);
  }
  free(cgroups);
  free(mountinfo);
}

// The HOME runc gives a user without one in the environment: theirs in the container's /etc/passwd, else "/".
static const char *home_of(uid_t uid) {
  static char home[PATH_MAX];
  char *passwd = read_file("/etc/passwd", NULL);
  snprintf(home, sizeof home, "/");
  if (passwd == NULL) return home;
  char *save = NULL;
  for (char *line = strtok_r(passwd, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
    // name:password:uid:gid:gecos:home:shell
    char *f[7] = { 0 };
    int i = 0;
    for (char *s = line; i < 7; i++) {
      f[i] = s;
      s = strchr(s, ':');
      if (s == NULL) break;
      *s++ = '\0';
    }
    if (i >= 5 && f[2] != NULL && f[5] != NULL && strtoul(f[2], NULL, 10) == uid && f[5][0] != '\0') {
      snprintf(home, sizeof home, "%s", f[5]);
      break;
    }
  }
  free(passwd);
  return home;
}

static uint32_t action_of(const char *name, int err) {
  if (strcmp(name, "SCMP_ACT_ALLOW") == 0) return SCMP_ACT_ALLOW;
  if (strcmp(name, "SCMP_ACT_ERRNO") == 0) return SCMP_ACT_ERRNO((uint32_t)err);
  if (strcmp(name, "SCMP_ACT_KILL") == 0 || strcmp(name, "SCMP_ACT_KILL_THREAD") == 0) return SCMP_ACT_KILL;
  if (strcmp(name, "SCMP_ACT_KILL_PROCESS") == 0) return SCMP_ACT_KILL_PROCESS;
  if (strcmp(name, "SCMP_ACT_TRAP") == 0) return SCMP_ACT_TRAP;
  if (strcmp(name, "SCMP_ACT_LOG") == 0) return SCMP_ACT_LOG;
  fail(125, "the exec plan has an unknown seccomp action: %s", name);
  return 0;
}

static enum scmp_compare op_of(const char *name) {
  static const struct { const char *name; enum scmp_compare op; } ops[] = {
    { "SCMP_CMP_NE", SCMP_CMP_NE }, { "SCMP_CMP_LT", SCMP_CMP_LT }, { "SCMP_CMP_LE", SCMP_CMP_LE },
    { "SCMP_CMP_EQ", SCMP_CMP_EQ }, { "SCMP_CMP_GE", SCMP_CMP_GE }, { "SCMP_CMP_GT", SCMP_CMP_GT },
    { "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ }
  };
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) if (strcmp(name, ops[i].name) == 0) return ops[i].op;
  fail(125, "the exec plan has an unknown seccomp operator: %s", name);
  return SCMP_CMP_EQ;
}

// The container's seccomp filter, from the plan's rules ("ACTION ERRNO NAME [INDEX OP VALUE VALUE2]..."), as
// runc builds it: names this system does not know are left out.
static scmp_filter_ctx build_filter(const struct plan *p) {
  char def[64];
  int def_err = 0;
  if (sscanf(p->seccomp_default, "%63s %d", def, &def_err) != 2) fail(125, "the exec plan has a bad seccomp default");
  scmp_filter_ctx ctx = seccomp_init(action_of(def, def_err));
  if (ctx == NULL) fail(125, "cannot make the seccomp filter");
  // no_new_privs is this program's to set, when the container's config asks for it.
  seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
  // Calls made as an architecture the filter does not list are killed, as runc's filter does.
  seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_THREAD);
  for (int i = 0; i < p->narches; i++) {
    uint32_t arch = seccomp_arch_resolve_name(p->seccomp_arches[i]);
    if (arch == 0) fail(125, "the exec plan names an unknown architecture: %s", p->seccomp_arches[i]);
    int rc = seccomp_arch_add(ctx, arch);
    if (rc != 0 && rc != -EEXIST) fail(125, "cannot add architecture %s to the seccomp filter: %s", p->seccomp_arches[i], strerror(-rc));
  }
  for (int i = 0; i < p->nrules; i++) {
    char rule[1024];
    snprintf(rule, sizeof rule, "%s", p->seccomp_rules[i]);
    char *save = NULL;
    char *action = strtok_r(rule, " ", &save);
    char *err = strtok_r(NULL, " ", &save);
    char *name = strtok_r(NULL, " ", &save);
    if (action == NULL || err == NULL || name == NULL) fail(125, "the exec plan has a bad seccomp rule: %s", p->seccomp_rules[i]);
    struct scmp_arg_cmp args[6];
    unsigned nargs = 0;
    for (char *idx = strtok_r(NULL, " ", &save); idx != NULL && nargs < 6; idx = strtok_r(NULL, " ", &save)) {
      char *op = strtok_r(NULL, " ", &save);
      char *v1 = op != NULL ? strtok_r(NULL, " ", &save) : NULL;
      char *v2 = v1 != NULL ? strtok_r(NULL, " ", &save) : NULL;
      if (v2 == NULL) fail(125, "the exec plan has a bad seccomp argument: %s", p->seccomp_rules[i]);
      args[nargs++] = (struct scmp_arg_cmp){ .arg = (unsigned)number(idx, "argument index"), .op = op_of(op), .datum_a = number(v1, "value"), .datum_b = number(v2, "value") };
    }
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) continue;
    int rc = seccomp_rule_add_array(ctx, action_of(action, atoi(err)), nr, nargs, args);
    // A rule whose action is the default's adds nothing; libseccomp says so, and runc goes on.
    if (rc != 0 && rc != -EACCES && rc != -EEXIST) fail(125, "cannot add %s to the seccomp filter: %s", name, strerror(-rc));
  }
  return ctx;
}

// The container's filter as BPF: from PLAN.bpf where an earlier exec compiled it, else compiled now (5 ms and more
// with libseccomp) and kept there for the next. The daemon removes PLAN.bpf whenever it writes a new plan.
static int filter_program(const char *plan_path, const struct plan *p, struct sock_fprog *prog) {
  if (p->seccomp_default == NULL) return 0;
  char path[PATH_MAX], tmp[PATH_MAX + 16];
  snprintf(path, sizeof path, "%s.bpf", plan_path);
  size_t len = 0;
  char *bpf = read_file(path, &len);
  if (bpf == NULL || len == 0 || len % sizeof(struct sock_filter) != 0 || len / sizeof(struct sock_filter) > BPF_MAXINSNS) {
    free(bpf);
    scmp_filter_ctx ctx = build_filter(p);
    snprintf(tmp, sizeof tmp, "%s.%d", path, getpid());
    int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) fail(125, "cannot write %s: %s", tmp, strerror(errno));
    int rc = seccomp_export_bpf(ctx, fd);
    seccomp_release(ctx);
    if (rc != 0) {
      unlink(tmp);
      fail(125, "cannot compile the seccomp filter: %s", strerror(-rc));
    }
    close(fd);
    bpf = read_file(tmp, &len);
    if (bpf == NULL || len == 0 || len % sizeof(struct sock_filter) != 0 || len / sizeof(struct sock_filter) > BPF_MAXINSNS) {
      unlink(tmp);
      fail(125, "the compiled seccomp filter is unusable");
    }
    if (rename(tmp, path) != 0) unlink(tmp);
  }
  prog->len = (unsigned short)(len / sizeof(struct sock_filter));
  prog->filter = (struct sock_filter *)bpf;
  return 1;
}

static void load_filter(const struct sock_fprog *prog) {
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog) != 0) fail(125, "cannot load the seccomp filter: %s", strerror(errno));
}

// The capability sets (two 32-bit halves each), as capset takes them.
static void set_caps(const struct plan *p) {
  struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
  struct __user_cap_data_struct data[2] = {
    { .effective = (uint32_t)p->effective, .permitted = (uint32_t)p->permitted, .inheritable = (uint32_t)p->inheritable },
    { .effective = (uint32_t)(p->effective >> 32), .permitted = (uint32_t)(p->permitted >> 32), .inheritable = (uint32_t)(p->inheritable >> 32) }
  };
  if (syscall(SYS_capset, &hdr, data) != 0) fail(125, "cannot set the container's capabilities: %s", strerror(errno));
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  for (int cap = 0; cap < 64; cap++) {
    if ((p->ambient >> cap & 1) != 0 && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0) fail(125, "cannot raise ambient capability %d: %s", cap, strerror(errno));
  }
}

// The highest capability this kernel knows, read on the host before entering.
static int last_cap = 40;

// The child, in the container's namespaces: becomes the container's process and runs the command.
static void become(const struct plan *p, const struct sock_fprog *filter, char **extra_env, int nextra, const char *workdir, char **command) {
  if (setsid() < 0) fail(125, "setsid: %s", strerror(errno));
  // The environment: the container's, then -e, then HOME if still unset, as runc's exec.
  static char *env[MAX_ITEMS + 2];
  int n = 0;
  for (int i = 0; i < p->nenv; i++) env[n++] = (char *)p->env[i];
  for (int i = 0; i < nextra && n < MAX_ITEMS; i++) {
    size_t key = strcspn(extra_env[i], "=");
    int j;
    for (j = 0; j < n; j++) if (strncmp(env[j], extra_env[i], key + 1) == 0) break;
    env[j] = extra_env[i];
    if (j == n) n++;
  }
  int has_home = 0;
  for (int i = 0; i < n; i++) if (strncmp(env[i], "HOME=", 5) == 0) has_home = 1;
  static char home[PATH_MAX + 8];
  if (!has_home) {
    snprintf(home, sizeof home, "HOME=%s", home_of(p->uid));
    env[n++] = home;
  }
  env[n] = NULL;
  for (int i = 0; i < p->nrlimits; i++) {
    struct rlimit rl = { .rlim_cur = p->rlimits[i].soft, .rlim_max = p->rlimits[i].hard };
    if (setrlimit(p->rlimits[i].resource, &rl) != 0) fail(125, "cannot set rlimit %d: %s", p->rlimits[i].resource, strerror(errno));
  }
  if (p->oom != NULL) {
    int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, p->oom, strlen(p->oom)) < 0) fail(125, "cannot set oom_score_adj: %s", strerror(errno));
    close(fd);
  }
  const char *dir = workdir != NULL ? workdir : p->cwd;
  // Without no_new_privs the filter must be loaded while CAP_SYS_ADMIN is still held.
  if (filter != NULL && !p->nnp) load_filter(filter);
  if (p->have_caps) {
    // The bounding set first (that takes CAP_SETPCAP), and capabilities kept across the change of user.
    for (int cap = 0; cap <= last_cap; cap++) {
      if ((p->bounding >> cap & 1) == 0 && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) fail(125, "cannot drop capability %d: %s", cap, strerror(errno));
    }
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) fail(125, "PR_SET_KEEPCAPS: %s", strerror(errno));
  }
  if (setgroups((size_t)p->ngroups, p->groups) != 0) fail(125, "cannot set the groups: %s", strerror(errno));
  if (setresgid(p->gid, p->gid, p->gid) != 0) fail(125, "cannot become group %u: %s", p->gid, strerror(errno));
  if (setresuid(p->uid, p->uid, p->uid) != 0) fail(125, "cannot become user %u: %s", p->uid, strerror(errno));
  if (p->have_caps) {
    prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
    set_caps(p);
  }
  if (chdir(dir) != 0) fail(126, "cannot change to the working directory %s: %s", dir, strerror(errno));
  if (p->nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail(125, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
  // The command is looked up on the container's PATH.
  environ = env;
  const char *path = getenv("PATH");
  if (strchr(command[0], '/') == NULL && (path == NULL || path[0] == '\0')) setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
  if (filter != NULL && p->nnp) load_filter(filter);
  execvp(command[0], command);
  int err = errno;
  // Said as Docker says it.
  if (err == ENOENT && strchr(command[0], '/') == NULL) fail(127, "\"%s\": executable file not found in $PATH", command[0]);
  char reason[256];
  snprintf(reason, sizeof reason, "%s", strerror(err));
  reason[0] = (char)tolower((unsigned char)reason[0]);
  fail(err == ENOENT ? 127 : 126, "\"%s\": %s", command[0], reason);
}

static volatile pid_t child_pid;

static void pass_on(int sig) {
  if (child_pid > 0) kill(child_pid, sig);
}

int main(int argc, char **argv) {
  if (argc < 7) {
    fprintf(stderr, "usage: aurae-enter PLAN PID START ERRFILE [-e KEY=VALUE]... [-w DIR] -- COMMAND [ARG...]\n");
    return 125;
  }
  if (strcmp(argv[4], "-") != 0) {
    err_fd = open(argv[4], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (err_fd < 0) fail(125, "cannot open %s: %s", argv[4], strerror(errno));
  }
  pid_t pid = (pid_t)number(argv[2], "pid");
  unsigned long long start = number(argv[3], "start time");
  char *extra_env[MAX_ITEMS];
  int nextra = 0;
  const char *workdir = NULL;
  int i = 5;
  for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
    if (strcmp(argv[i], "-e") == 0 && i + 1 < argc && nextra < MAX_ITEMS) extra_env[nextra++] = argv[++i];
    else if (strcmp(argv[i], "-w") == 0 && i + 1 < argc) workdir = argv[++i];
    else fail(125, "unknown argument %s", argv[i]);
  }
  if (i + 1 >= argc) fail(125, "no command after --");
  char **command = &argv[i + 1];
  static struct plan plan;
  read_plan(argv[1], &plan);
  static struct sock_fprog filter;
  int filtered = filter_program(argv[1], &plan, &filter);
  char *cap_last = read_file("/proc/sys/kernel/cap_last_cap", NULL);
  if (cap_last != NULL) last_cap = atoi(cap_last);
  free(cap_last);

  // Nothing in the container may reach this binary through /proc/PID/exe while it runs there (CVE-2019-5736).
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) fail(125, "PR_SET_DUMPABLE: %s", strerror(errno));
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0) fail(125, "the container's process %d is gone: %s", pid, strerror(errno));
  // The pidfd is of the process with that start time: checked after it was opened, so no reuse can slip between.
  if (start_time(pid) != start) fail(125, "the container's process %d is gone", pid);
  join_cgroups(pid, plan.cgroups_path);
  int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWCGROUP;
  if (setns(pidfd, flags) != 0) fail(125, "cannot enter the container's namespaces: %s", strerror(errno));
  close(pidfd);

  // Signals that arrive between the fork and the handlers wait, blocked, and are passed on then.
  struct sigaction sa = { .sa_handler = pass_on };
  sigemptyset(&sa.sa_mask);
  int passed[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
  sigset_t block, old;
  sigemptyset(&block);
  for (size_t s = 0; s < sizeof passed / sizeof passed[0]; s++) sigaddset(&block, passed[s]);
  sigprocmask(SIG_BLOCK, &block, &old);
  pid_t child = fork();
  if (child < 0) fail(125, "fork: %s", strerror(errno));
  if (child == 0) {
    for (size_t s = 0; s < sizeof passed / sizeof passed[0]; s++) signal(passed[s], SIG_DFL);
    sigprocmask(SIG_SETMASK, &old, NULL);
    become(&plan, filtered ? &filter : NULL, extra_env, nextra, workdir, command);
  }
  child_pid = child;
  for (size_t s = 0; s < sizeof passed / sizeof passed[0]; s++) sigaction(passed[s], &sa, NULL);
  sigprocmask(SIG_SETMASK, &old, NULL);
  int status;
  while (waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) fail(125, "waitpid: %s", strerror(errno));
  }
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}
