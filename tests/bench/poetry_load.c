/* poetry_load: a load generator for "connect, read a poem to EOF, close" servers, loopback only.
 *
 *   poetry_load -p PORT -e EXPECTED_BYTES [-c IN_FLIGHT] [-n MAX_CONNECTIONS] [-t MAX_SECONDS]
 *
 * Keeps IN_FLIGHT non-blocking connections going with epoll; each connects to 127.0.0.1:PORT, reads to EOF,
 * checks the byte count and is replaced by a new one. Stops starting connections after MAX_CONNECTIONS or
 * MAX_SECONDS, whichever comes first, and lets those in flight finish (for at most 10 s more: the ones still open
 * then count as errors), so that all the server's work in the run is for connections the run counts. Prints one
 * line of key=value results (conn/s, MB/s, p50/p99 latency, errors).
 * Source addresses rotate over 127.0.0.1-127.0.0.8 so TIME_WAIT states spread over more 4-tuples.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { kMaxInFlight = 4096, kSources = 8 };
static const double kFinishSeconds = 10; /* how long connections in flight at the deadline may take to finish */

struct conn {
  int fd;
  long long received;
  double started;
};

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int compare(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

static int open_connection(int epfd, struct conn* c, int port, unsigned serial) {
  struct sockaddr_in src = {0}, dst = {0};
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  src.sin_family = AF_INET;
  src.sin_addr.s_addr = htonl(0x7f000001u + serial % kSources);
  bind(fd, (struct sockaddr*)&src, sizeof src); /* port 0: the kernel picks one per source address */
  dst.sin_family = AF_INET;
  dst.sin_port = htons((uint16_t)port);
  dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr*)&dst, sizeof dst) != 0 && errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  c->fd = fd;
  c->received = 0;
  c->started = now();
  struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
  epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
  return 0;
}

int main(int argc, char** argv) {
  int port = 0, in_flight = 16, opt;
  long long expected = -1, max_conns = 100000;
  double max_seconds = 5;
  while ((opt = getopt(argc, argv, "p:e:c:n:t:")) != -1) {
    switch (opt) {
      case 'p': port = atoi(optarg); break;
      case 'e': expected = atoll(optarg); break;
      case 'c': in_flight = atoi(optarg); break;
      case 'n': max_conns = atoll(optarg); break;
      case 't': max_seconds = atof(optarg); break;
      default: fprintf(stderr, "usage: %s -p PORT -e BYTES [-c N] [-n COUNT] [-t SECONDS]\n", argv[0]); return 64;
    }
  }
  if (port <= 0 || expected < 0 || in_flight < 1 || in_flight > kMaxInFlight || max_conns < 1) {
    fprintf(stderr, "%s: need -p PORT and -e BYTES; -c 1..%d\n", argv[0], kMaxInFlight);
    return 64;
  }
  static struct conn conns[kMaxInFlight];
  static char buffer[1 << 20];
  double* latencies = malloc(sizeof(double) * (size_t)max_conns);
  int epfd = epoll_create1(EPOLL_CLOEXEC);
  long long done = 0, errors = 0, short_reads = 0, bytes = 0, started = 0;
  const double begin = now(), stop_at = begin + max_seconds, give_up_at = stop_at + kFinishSeconds;
  for (int i = 0; i < in_flight && started < max_conns; ++i, ++started) {
    if (open_connection(epfd, &conns[i], port, (unsigned)started) != 0) ++errors;
  }
  int active = in_flight;
  struct epoll_event events[256];
  while (active > 0) {
    int n = epoll_wait(epfd, events, 256, 100);
    const double t = now();
    if (t > stop_at) max_conns = started; /* no new connections: the ones in flight finish */
    if (t > give_up_at) {
      errors += active;
      break;
    }
    for (int i = 0; i < n; ++i) {
      struct conn* c = events[i].data.ptr;
      ssize_t r;
      while ((r = read(c->fd, buffer, sizeof buffer)) > 0) c->received += r;
      if (r < 0 && errno == EAGAIN) continue;
      if (r < 0) ++errors;
      else if (c->received != expected) ++short_reads;
      else latencies[done++] = now() - c->started;
      bytes += c->received;
      close(c->fd);
      if (started < max_conns && done < max_conns) {
        if (open_connection(epfd, c, port, (unsigned)started++) != 0) { ++errors; --active; }
      } else {
        --active;
      }
    }
  }
  const double elapsed = now() - begin;
  qsort(latencies, (size_t)done, sizeof(double), compare);
  double p50 = done ? latencies[done / 2] : 0, p99 = done ? latencies[(done * 99) / 100] : 0;
  printf("conns=%lld bytes=%lld seconds=%.3f conn_per_s=%.1f mb_per_s=%.2f p50_ms=%.3f p99_ms=%.3f errors=%lld "
         "short=%lld\n", done, bytes, elapsed, done / elapsed, bytes / elapsed / 1e6, p50 * 1e3, p99 * 1e3, errors,
         short_reads);
  free(latencies);
  return errors || short_reads ? 1 : 0;
}
