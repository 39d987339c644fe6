package containers

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
)

// Each node runs in cgroups of its own. systemd-nspawn with --keep-unit
// puts its container under the cgroup it was started in; nodes started
// from one process would share one tree, and each node's systemd would
// manage (and try to kill) the others' services.

// cgroupParent is the directory, under this process's own cgroup in each
// hierarchy, that holds the nodes' cgroups.
const cgroupParent = "runbook-lab"

// cgroupHierarchies returns the directories of this process's cgroup in
// the hierarchies systemd uses: the unified one (cgroup2) and, on a
// legacy or hybrid host, the name=systemd one.
func cgroupHierarchies() []string {
	mounts := map[string]string{} // "unified" or "name=systemd" -> mount point
	if f, err := os.Open("/proc/self/mountinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			pre, post, ok := strings.Cut(sc.Text(), " - ")
			fields, after := strings.Fields(pre), strings.Fields(post)
			if !ok || len(fields) < 5 || len(after) < 3 {
				continue
			}
			switch {
			case after[0] == "cgroup2":
				mounts["unified"] = fields[4]
			case after[0] == "cgroup" && strings.Contains(","+after[2]+",", ",name=systemd,"):
				mounts["name=systemd"] = fields[4]
			}
		}
		f.Close()
	}
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil
	}
	var dirs []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		key := parts[1]
		if parts[0] == "0" && key == "" {
			key = "unified"
		}
		if m, ok := mounts[key]; ok {
			dirs = append(dirs, filepath.Join(m, parts[2]))
		}
	}
	return dirs
}

// nodeCgroups creates the node's cgroup in each hierarchy and returns
// their directories.
func nodeCgroups(machine string) ([]string, error) {
	var dirs []string
	for _, h := range cgroupHierarchies() {
		d := filepath.Join(h, cgroupParent, machine)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
		dirs = append(dirs, d)
	}
	return dirs, nil
}

// removeCgroups removes the node's cgroups, deepest first; a cgroup
// with processes left in it stays.
func removeCgroups(machine string) {
	for _, h := range cgroupHierarchies() {
		removeCgroupTree(filepath.Join(h, cgroupParent, machine))
		os.Remove(filepath.Join(h, cgroupParent)) // once no node is left in it
	}
}

func removeCgroupTree(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.IsDir() {
			removeCgroupTree(filepath.Join(dir, e.Name()))
		}
	}
	os.Remove(dir)
}

// leftoverCgroups lists the cgroups of a lab's nodes still there.
func leftoverCgroups(prefix string) []string {
	var out []string
	for _, h := range cgroupHierarchies() {
		entries, _ := os.ReadDir(filepath.Join(h, cgroupParent))
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), prefix) {
				out = append(out, "cgroup "+filepath.Join(h, cgroupParent, e.Name()))
			}
		}
	}
	return out
}
