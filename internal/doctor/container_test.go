package doctor

import (
	"os"
	"path/filepath"
	"testing"
)

// hostLaidOut lays files out under a temporary root.
func hostLaidOut(t *testing.T, files map[string]string) *Host {
	t.Helper()
	root := t.TempDir()
	for p, text := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return &Host{Root: root}
}

func TestDetectContainer(t *testing.T) {
	host := map[string]string{"/proc/1/comm": "systemd\n", "/proc/1/cgroup": "0::/init.scope\n", "/proc/self/uid_map": "         0          0 4294967295\n"}
	if in, seen := DetectContainer(hostLaidOut(t, host)); in || len(seen) != 0 {
		t.Errorf("a host: %v %v", in, seen)
	}
	// One signal alone does not decide.
	stray := map[string]string{"/.dockerenv": "", "/proc/1/comm": "systemd\n"}
	if in, seen := DetectContainer(hostLaidOut(t, stray)); in || len(seen) != 1 {
		t.Errorf("a host with a stray /.dockerenv: %v %v", in, seen)
	}
	podman := map[string]string{"/run/.containerenv": "engine=\"podman\"\n", "/proc/1/comm": "niod\n",
		"/proc/1/cgroup": "0::/machine.slice/libpod-abc.scope\n"}
	if in, seen := DetectContainer(hostLaidOut(t, podman)); !in || len(seen) != 3 {
		t.Errorf("podman: %v %v", in, seen)
	}
	// Weak signals only: a VM made from a Docker image, its PID 1 no init.
	vm := map[string]string{"/.dockerenv": "", "/proc/1/comm": "process_api\n",
		"/proc/self/mountinfo": "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"}
	if in, seen := DetectContainer(hostLaidOut(t, vm)); in || len(seen) != 2 {
		t.Errorf("a VM with weak signals only: %v %v", in, seen)
	}
	docker := map[string]string{"/.dockerenv": "", "/proc/1/comm": "niod\n", "/proc/self/mountinfo": "" +
		"600 500 0:50 / / rw,relatime master:1 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/A,upperdir=/x,workdir=/y\n" +
		"610 600 254:0 /var/lib/docker/containers/abc/hostname /etc/hostname rw,relatime - ext4 /dev/vda rw\n"}
	if in, seen := DetectContainer(hostLaidOut(t, docker)); !in || len(seen) != 4 {
		t.Errorf("docker with cgroup v2 (a private cgroup namespace): %v %v", in, seen)
	}
	userns := map[string]string{"/proc/self/uid_map": "0 100000 65536\n", "/proc/1/environ": "PATH=/bin\x00container=lxc\x00"}
	if in, seen := DetectContainer(hostLaidOut(t, userns)); !in || len(seen) != 2 {
		t.Errorf("lxc in a user namespace: %v %v", in, seen)
	}
}
