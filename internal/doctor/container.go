package doctor

import (
	"os"
	"strings"
)

// DetectContainer says whether the host is a container, from several
// signals, none of which decides alone. Strong ones are what an engine
// sets up (podman's /run/.containerenv, a cgroup or an overlay root named
// by an engine, files it bind-mounts, container= in PID 1's environment, a
// user namespace, a Kubernetes service account); weak ones are also seen
// on hosts (a /.dockerenv left in a VM image, a PID 1 that is no init).
// Two signals of which one is strong make a container. It returns the
// signals it saw.
func DetectContainer(h *Host) (bool, []string) {
	var seen []string
	strong := 0
	signal := func(isStrong bool, what string) {
		seen = append(seen, what)
		if isStrong {
			strong++
		}
	}
	exists := func(p string) bool { _, err := os.Lstat(h.Path(p)); return err == nil }
	if exists("/run/.containerenv") {
		signal(true, "/run/.containerenv (podman)")
	}
	if exists("/.dockerenv") {
		signal(false, "/.dockerenv (docker)")
	}
	if exists("/var/run/secrets/kubernetes.io/serviceaccount") {
		signal(true, "a Kubernetes service account is mounted")
	}
	if cg, err := h.ReadFile("/proc/1/cgroup"); err == nil {
		for _, w := range []string{"docker", "kubepods", "containerd", "libpod", "lxc", "crio"} {
			if strings.Contains(cg, w) {
				signal(true, "PID 1's cgroup names "+w)
				break
			}
		}
	}
	if mi, err := h.ReadFile("/proc/self/mountinfo"); err == nil {
		for _, line := range strings.Split(mi, "\n") {
			f := strings.Fields(line)
			if len(f) < 5 {
				continue
			}
			switch mount := f[4]; {
			case mount == "/" && strings.Contains(line, " - overlay ") && strings.Contains(line, "lowerdir="):
				signal(true, "the root file system is an overlay")
			case mount == "/etc/hostname" || mount == "/etc/resolv.conf":
				signal(true, mount+" is mounted from outside")
			}
		}
	}
	if env, err := h.ReadFile("/proc/1/environ"); err == nil {
		for _, kv := range strings.Split(env, "\x00") {
			if v, ok := strings.CutPrefix(kv, "container="); ok && v != "" {
				signal(true, "PID 1's environment has container="+v)
			}
		}
	}
	if m, err := h.ReadFile("/proc/self/uid_map"); err == nil {
		if f := strings.Fields(m); len(f) == 3 && !(f[0] == "0" && f[1] == "0" && f[2] == "4294967295") {
			signal(true, "a user namespace maps uids ("+strings.Join(f, " ")+")")
		}
	}
	if comm, err := h.Line("/proc/1/comm"); err == nil {
		switch comm {
		case "systemd", "init", "openrc-init", "runit", "s6-svscan", "launchd":
		default:
			signal(false, "PID 1 is "+comm+", not an init")
		}
	}
	return strong >= 1 && len(seen) >= 2, seen
}
