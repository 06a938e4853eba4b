package fenceagent

import "testing"

const cid = "3f4e0c1b2a99887766554433221100ffeeddccbbaa99887766554433221100aa"

func TestContainerIDFromCgroup(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"12:memory:/docker/" + cid + "\n11:cpu:/docker/" + cid + "\n", cid},
		{"1:name=systemd:/system.slice/docker-" + cid + ".scope\n", cid},
		{"0::/system.slice/cri-containerd-" + cid + ".scope\n", cid},
		{"0::/machine.slice/libpod-" + cid + ".scope/container\n", ""}, // podman's nested path: mountinfo finds it
		{"11:pids:/kubepods/burstable/pod1234/" + cid + "\n", cid},
		{"0::/\n", ""},
		{"9:name=systemd:/\n8:pids:/user.slice\n", ""},
		{"0::/system.slice/zkfence.service\n", ""},
		{"5:cpu:/docker/" + cid[:63] + "\n", ""},
	} {
		if got := containerIDFromCgroup([]byte(tc.in)); got != tc.want {
			t.Errorf("%q: %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestContainerIDFromMountinfo(t *testing.T) {
	docker := "723 701 254:1 /var/lib/docker/containers/" + cid + "/hostname /etc/hostname rw,relatime - ext4 /dev/vda1 rw\n"
	podman := "800 790 0:44 /containers/storage/overlay-containers/" + cid + "/userdata/hosts /etc/hosts rw - tmpfs tmpfs rw\n"
	other := "30 1 254:1 /var/lib/docker/containers/" + cid + "/x /data rw - ext4 /dev/vda1 rw\n"
	root := "22 1 254:1 / / rw,relatime - ext4 /dev/vda1 rw\n"
	for _, tc := range []struct{ in, want string }{
		{root + docker, cid}, {root + podman, cid}, {root + other, ""}, {root, ""},
	} {
		if got := containerIDFromMountinfo([]byte(tc.in)); got != tc.want {
			t.Errorf("%q: %q, want %q", tc.in, got, tc.want)
		}
	}
}
