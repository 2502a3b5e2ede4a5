// The delay of a network link, for a kernel without sch_netem: holds every packet of one NFQUEUE
// queue for a fixed time, then lets it go on (NF_ACCEPT). Usage: nfq-delay QUEUE DELAY_MS.
// Prints "ready" once the queue is bound. Only metadata crosses to user space; packets stay in the
// kernel meanwhile. The delay is the same for every packet, so the order of arrival is the order
// of release: a FIFO ring is the time-ordered queue, and one batch verdict releases every packet
// up to the newest that is due (the kernel numbers a queue's packets in the order it sends them).
// It fails closed: no --queue-bypass and no fail-open flag, so while it is not running, or when its
// queue is full, packets are dropped, never passed on without their delay.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netlink.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#define CAP 8192
#define MASK (CAP - 1)
#define READS_PER_ROUND 256

struct held {
  uint32_t id;
  int64_t due;
};

static struct held ring[CAP];
static uint32_t head, tail;
static int64_t delay_ns;

static int64_t now_ns (void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void die (const char *what) {
  fprintf(stderr, "nfq-delay: %s\n", what);
  exit(1);
}

static int on_packet (struct nfq_q_handle *qh, struct nfgenmsg *msg, struct nfq_data *nfa, void *data) {
  (void)msg;
  (void)data;
  struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
  if (ph == NULL) return 0;
  uint32_t id = ntohl(ph->packet_id);
  // The kernel holds at most CAP packets for us (the queue's maxlen), so this is only a guard.
  if (tail - head == CAP) return nfq_set_verdict(qh, id, NF_DROP, 0, NULL) < 0 ? -1 : 0;
  ring[tail & MASK] = (struct held){ id, now_ns() + delay_ns };
  tail++;
  return 0;
}

static void release_due (struct nfq_q_handle *qh) {
  int64_t now = now_ns();
  uint32_t last = 0;
  int any = 0;
  while (head != tail && ring[head & MASK].due <= now) {
    last = ring[head & MASK].id;
    head++;
    any = 1;
  }
  if (any && nfq_set_verdict_batch(qh, last, NF_ACCEPT) < 0) die("cannot give a verdict");
}

int main (int argc, char **argv) {
  if (argc != 3) die("usage: nfq-delay QUEUE DELAY_MS");
  int queue = atoi(argv[1]);
  delay_ns = (int64_t)atoi(argv[2]) * 1000000LL;
  // Goes when the test that started it goes, so a crashed test leaves no delayer behind.
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() == 1) die("no parent");

  struct nfq_handle *h = nfq_open();
  if (h == NULL) die("cannot open nfnetlink_queue");
  struct nfq_q_handle *qh = nfq_create_queue(h, (uint16_t)queue, on_packet, NULL);
  if (qh == NULL) die("cannot bind the queue (is another program on it?)");
  if (nfq_set_mode(qh, NFQNL_COPY_META, 0) < 0) die("cannot set copy mode");
  if (nfq_set_queue_maxlen(qh, CAP) < 0) die("cannot set the queue length");
  // Large segments are held whole rather than cut into packets first; older kernels lack the flag.
  nfq_set_queue_flags(qh, NFQA_CFG_F_GSO, NFQA_CFG_F_GSO);
  int fd = nfq_fd(h);
  int rcvbuf = 8 << 20;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);
  setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof one);
  printf("ready\n");
  fflush(stdout);

  static char buf[65536];
  struct pollfd pfd = { .fd = fd, .events = POLLIN };
  for (;;) {
    struct timespec wait;
    struct timespec *timeout = NULL;
    if (head != tail) {
      int64_t left = ring[head & MASK].due - now_ns();
      if (left < 0) left = 0;
      wait = (struct timespec){ left / 1000000000LL, left % 1000000000LL };
      timeout = &wait;
    }
    pfd.revents = 0;
    if (ppoll(&pfd, 1, timeout, NULL) < 0 && errno != EINTR) die("poll failed");
    for (int i = 0; i < READS_PER_ROUND && (pfd.revents & POLLIN); i++) {
      ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        if (errno == ENOBUFS || errno == EINTR) continue;
        die("cannot read the queue");
      }
      nfq_handle_packet(h, buf, (int)n);
    }
    release_due(qh);
  }
}
