/*
 * ctrfloor: the start case's C reference (berthbench builds it with cc when
 * one is installed; it is not part of Berth). It does the kernel's share of
 * a container start with Docker's hardening and nothing else, so a reader
 * can tell what any runtime must pay on the machine from what Berth adds:
 *
 *   clone with new mount, PID, UTS and IPC namespaces; an overlay of ROOTFS
 *   with a fresh upper directory; /proc, a /dev tmpfs with the usual device
 *   nodes and links, /dev/pts, /dev/shm, /dev/mqueue and a read-only /sys;
 *   the hostname; pivot_root; Docker's masked and read-only paths; the
 *   capability bounding set cut to Docker's defaults; then an exec of CMD.
 *
 * Left out: cgroups, a seccomp filter, user and group lookup, a container
 * record, logs, networking. It is static, so that no dynamic loader runs.
 *
 * usage: ctrfloor [-n N] [-k] ROOTFS TMPDIR CMD [ARG...]
 * The overlay's directories are made under TMPDIR and removed at exit.
 * With -n, N such containers run one after the other, each on an overlay
 * whose lower layers are the earlier ones' upper directories above ROOTFS,
 * as the RUN steps of a build are (the steps' reference line); -k keeps the
 * directories, as a build keeps its layers, for the caller to remove.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

static char stack[64 * 1024];
static const char *rootfs;
static char dir[4096], merged[4200];
static char **cmd;
static int step; /* this container's number, from 1 */

static void fail(const char *what, const char *arg)
{
	fprintf(stderr, "ctrfloor: %s %s: %s\n", what, arg ? arg : "", strerror(errno));
	_exit(125);
}

/* at is a path inside the merged root; a missing mount point is made. */
static void mnt(const char *src, const char *at, const char *type, unsigned long flags, const char *data)
{
	char p[4400];
	snprintf(p, sizeof p, "%s%s", merged, at);
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		fail("mkdir", p);
	if (mount(src, p, type, flags, data) < 0)
		fail("mount", p);
}

static void mask(const char *p)
{
	struct stat st;
	if (stat(p, &st) < 0)
		return; /* not on this kernel */
	if (S_ISDIR(st.st_mode)) {
		if (mount("tmpfs", p, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0") < 0)
			fail("mask", p);
	} else if (mount("/dev/null", p, NULL, MS_BIND, NULL) < 0) {
		fail("mask", p);
	}
}

static void readonly(const char *p)
{
	if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0) {
		if (errno == ENOENT)
			return;
		fail("bind", p);
	}
	if (mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		fail("remount read-only", p);
}

static int child(void *arg)
{
	(void)arg;
	const unsigned long common = MS_NOSUID | MS_NOEXEC | MS_NODEV;
	char opts[8400], p[4400];

	if (mount("", "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		fail("make mounts private", "/");
	/* The earlier containers' upper directories, newest first, above rootfs. */
	int n = snprintf(opts, sizeof opts, "lowerdir=");
	for (int i = step - 1; i >= 1; i--)
		n += snprintf(opts + n, sizeof opts - n, "%s/upper%d:", dir, i);
	snprintf(opts + n, sizeof opts - n, "%s,upperdir=%s/upper%d,workdir=%s/work%d", rootfs, dir, step, dir, step);
	if (mount("overlay", merged, "overlay", 0, opts) < 0)
		fail("mount overlay on", merged);
	mnt("proc", "/proc", "proc", common, NULL);
	mnt("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
	static const struct { const char *name; int major, minor; } devs[] = {
		{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
	};
	umask(0);
	for (size_t i = 0; i < sizeof devs / sizeof devs[0]; i++) {
		snprintf(p, sizeof p, "%s/dev/%s", merged, devs[i].name);
		if (mknod(p, S_IFCHR | 0666, makedev(devs[i].major, devs[i].minor)) < 0)
			fail("mknod", p);
	}
	umask(022);
	static const char *links[][2] = {
		{"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
		{"stderr", "/proc/self/fd/2"}, {"ptmx", "pts/ptmx"}, {"core", "/proc/kcore"},
	};
	for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
		snprintf(p, sizeof p, "%s/dev/%s", merged, links[i][0]);
		if (symlink(links[i][1], p) < 0)
			fail("symlink", p);
	}
	mnt("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5");
	mnt("shm", "/dev/shm", "tmpfs", common, "mode=1777,size=65536k");
	mnt("mqueue", "/dev/mqueue", "mqueue", common, NULL);
	mnt("sysfs", "/sys", "sysfs", common | MS_RDONLY, NULL);
	if (sethostname("ctrfloor", 8) < 0)
		fail("sethostname", NULL);

	int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	int newroot = open(merged, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (oldroot < 0 || newroot < 0 || fchdir(newroot) < 0)
		fail("open roots", merged);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		fail("pivot_root", merged);
	if (fchdir(oldroot) < 0 || mount("", ".", NULL, MS_SLAVE | MS_REC, NULL) < 0 || umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		fail("detach the old root", NULL);
	close(oldroot);
	close(newroot);

	static const char *masked[] = {
		"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
		"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
		"/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
	};
	for (size_t i = 0; i < sizeof masked / sizeof masked[0]; i++)
		mask(masked[i]);
	static const char *ro[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
	for (size_t i = 0; i < sizeof ro / sizeof ro[0]; i++)
		readonly(ro[i]);

	/* Docker's default capabilities stay in the bounding set. */
	static const int keep[] = {
		CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FSETID, CAP_FOWNER, CAP_MKNOD, CAP_NET_RAW, CAP_SETGID,
		CAP_SETUID, CAP_SETFCAP, CAP_SETPCAP, CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT, CAP_KILL,
		CAP_AUDIT_WRITE,
	};
	for (int c = 0; c <= CAP_LAST_CAP; c++) {
		int kept = 0;
		for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
			kept |= keep[i] == c;
		if (!kept && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			fail("drop capability", NULL);
	}
	execv(cmd[0], cmd);
	fail("exec", cmd[0]);
	return 125;
}

static int rm(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

int main(int argc, char **argv)
{
	int steps = 1, keep = 0, opt;
	while ((opt = getopt(argc, argv, "+n:k")) != -1) {
		if (opt == 'n' && atoi(optarg) >= 1 && atoi(optarg) <= 100)
			steps = atoi(optarg);
		else if (opt == 'k')
			keep = 1;
		else
			optind = argc; /* usage below */
	}
	if (argc - optind < 3) {
		fprintf(stderr, "usage: ctrfloor [-n N] [-k] ROOTFS TMPDIR CMD [ARG...]\n");
		return 2;
	}
	rootfs = argv[optind];
	cmd = argv + optind + 2;
	snprintf(dir, sizeof dir, "%s/ctrfloor.XXXXXX", argv[optind + 1]);
	if (!mkdtemp(dir))
		fail("mkdtemp", dir);
	snprintf(merged, sizeof merged, "%s/merged", dir);
	if (mkdir(merged, 0755) < 0)
		fail("mkdir", merged);
	int code = 0;
	for (step = 1; step <= steps && code == 0; step++) {
		char p[4200];
		snprintf(p, sizeof p, "%s/upper%d", dir, step);
		if (mkdir(p, 0755) < 0)
			fail("mkdir", p);
		snprintf(p, sizeof p, "%s/work%d", dir, step);
		if (mkdir(p, 0755) < 0)
			fail("mkdir", p);
		pid_t pid = clone(child, stack + sizeof stack, CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | SIGCHLD, NULL);
		int status = 0;
		code = 125;
		if (pid < 0)
			perror("ctrfloor: clone");
		else if (waitpid(pid, &status, 0) == pid)
			code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	}
	/* The overlays went with their mount namespaces; the directories go
	 * now, unless the caller keeps them. */
	if (!keep && nftw(dir, rm, 16, FTW_DEPTH | FTW_PHYS) < 0)
		perror("ctrfloor: remove its directories");
	return code;
}
