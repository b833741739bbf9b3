/* sig_tiocsti: what a hostile payload does to the terminal it was started
 * from (CVE-2017-5226): push input into it with ioctl(0, TIOCSTI), through
 * every door a seccomp filter might forget: the plain ioctl, the command
 * with junk in its upper 32 bits (the kernel truncates it to an unsigned
 * int: CVE-2019-10063), the x32 syscall number (bit 0x40000000) and the
 * i386 ABI (int $0x80). Then TIOCLINUX, and TIOCGWINSZ, an ordinary ioctl
 * that must keep working. One line each: the call and "ok" (TIOCGWINSZ:
 * ROWSxCOLS) or the errno's name. Exits 0. With the argument "dev-tty" it
 * first opens /dev/tty onto fd 0. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* A static, so its address fits in 32 bits for the i386 call. */
static char ch = 'x';

static void report(const char *what, long r, int err)
{
    if (r == 0)
        printf("%s ok\n", what);
    else
        printf("%s %s\n", what, strerrorname_np(err));
}

static long i386_ioctl(int fd, unsigned cmd, void *arg)
{
    long r = 54; /* __NR_ioctl on i386 */
    __asm__ volatile("int $0x80"
                     : "+a"(r)
                     : "b"(fd), "c"(cmd), "d"((unsigned)(unsigned long)arg)
                     : "r8", "r9", "r10", "r11", "memory");
    if (r < 0 && r > -4096) {
        errno = -r;
        return -1;
    }
    return r;
}

int main(int argc, char **argv)
{
    long r;
    struct winsize ws;
    char linux_arg = 0; /* a TIOCLINUX subcode that changes nothing */

    /* "dev-tty": stdin is not the terminal; go to it through /dev/tty,
     * the controlling terminal whatever the fds are. */
    if (argc > 1 && strcmp(argv[1], "dev-tty") == 0) {
        int fd = open("/dev/tty", O_RDWR);
        if (fd < 0 || dup2(fd, 0) < 0) {
            printf("open /dev/tty %s\n", strerrorname_np(errno));
            return 1;
        }
    }

    r = ioctl(0, TIOCSTI, &ch);
    report("TIOCSTI", r, errno);
    r = syscall(SYS_ioctl, 0, (1UL << 32) | TIOCSTI, &ch);
    report("TIOCSTI|1<<32", r, errno);
    r = syscall(0x40000000 | 16, 0, TIOCSTI, &ch);
    report("x32 TIOCSTI", r, errno);
    r = syscall(0x40000000 | 514, 0, TIOCSTI, &ch); /* x32's own ioctl */
    report("x32/514 TIOCSTI", r, errno);
    r = i386_ioctl(0, TIOCSTI, &ch);
    report("i386 TIOCSTI", r, errno);
    r = ioctl(0, TIOCLINUX, &linux_arg);
    report("TIOCLINUX", r, errno);
    r = ioctl(0, TIOCGWINSZ, &ws);
    if (r == 0)
        printf("TIOCGWINSZ %dx%d\n", ws.ws_row, ws.ws_col);
    else
        report("TIOCGWINSZ", r, errno);
    fflush(stdout);
    return 0;
}
