/* reference_poetry_server: the practical limit for the fastpoetry protocol, in plain C with epoll.
 *
 *   reference_poetry_server POEM_FILE [PORT]
 *
 * Listens on 127.0.0.1:PORT (0 = any; the port is printed as "listening on N"), and for each connection writes
 * the whole poem and closes. Short writes are finished with EPOLLOUT; nothing else (no logging, no framework).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

static char* poem;
static size_t poem_size;

struct pending {
  int fd;
  size_t sent;
};

static void finish(int epfd, struct pending* p) {
  while (p->sent < poem_size) {
    ssize_t n = write(p->fd, poem + p->sent, poem_size - p->sent);
    if (n < 0 && errno == EAGAIN) {
      struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = p};
      if (epoll_ctl(epfd, EPOLL_CTL_MOD, p->fd, &ev) != 0) epoll_ctl(epfd, EPOLL_CTL_ADD, p->fd, &ev);
      return;
    }
    if (n <= 0) break;
    p->sent += (size_t)n;
  }
  close(p->fd);
  free(p);
}

int main(int argc, char** argv) {
  if (argc < 2) { fprintf(stderr, "usage: %s POEM [PORT]\n", argv[0]); return 64; }
  signal(SIGPIPE, SIG_IGN); /* a client that hangs up mid-poem must not kill the server */
  int pfd = open(argv[1], O_RDONLY);
  struct stat st;
  if (pfd < 0 || fstat(pfd, &st) != 0) { perror(argv[1]); return 66; }
  poem_size = (size_t)st.st_size;
  poem = malloc(poem_size + 1);
  for (size_t got = 0; got < poem_size;) {
    ssize_t n = read(pfd, poem + got, poem_size - got);
    if (n <= 0) { perror("read"); return 74; }
    got += (size_t)n;
  }
  close(pfd);
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), on = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)(argc > 2 ? atoi(argv[2]) : 0))};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(lfd, (struct sockaddr*)&addr, sizeof addr) != 0 || listen(lfd, 4096) != 0) { perror("listen"); return 71; }
  getsockname(lfd, (struct sockaddr*)&addr, &len);
  printf("listening on %d\n", ntohs(addr.sin_port));
  fflush(stdout);
  int epfd = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL}, events[256];
  epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
  for (;;) {
    int n = epoll_wait(epfd, events, 256, -1);
    for (int i = 0; i < n; ++i) {
      if (events[i].data.ptr != NULL) { finish(epfd, events[i].data.ptr); continue; }
      int fd;
      while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
        struct pending* p = malloc(sizeof *p);
        p->fd = fd;
        p->sent = 0;
        finish(epfd, p);
      }
    }
  }
}
