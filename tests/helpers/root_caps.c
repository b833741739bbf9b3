/* root_caps: prints this process's five capability sets exactly as the
 * Cap* lines of /proc/self/status show them ("CapInh:\t%016llx" ...),
 * from capget(2) and prctl(2), so a payload in a root without /proc can
 * still report what it holds. */
#include <linux/capability.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	unsigned long long inh, prm, eff, bnd = 0, amb = 0;
	int cap;

	if (syscall(SYS_capget, &h, d) != 0) {
		perror("capget");
		return 1;
	}
	inh = d[0].inheritable | (unsigned long long)d[1].inheritable << 32;
	prm = d[0].permitted | (unsigned long long)d[1].permitted << 32;
	eff = d[0].effective | (unsigned long long)d[1].effective << 32;
	/* Both answer -1 (EINVAL) past the kernel's last capability. */
	for (cap = 0; cap < 64; cap++) {
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1)
			bnd |= 1ULL << cap;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) == 1)
			amb |= 1ULL << cap;
	}
	printf("CapInh:\t%016llx\nCapPrm:\t%016llx\nCapEff:\t%016llx\n"
	       "CapBnd:\t%016llx\nCapAmb:\t%016llx\n", inh, prm, eff, bnd, amb);
	return 0;
}
