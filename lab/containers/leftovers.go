package containers

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// nspawnPropagateDir is where systemd-nspawn keeps a directory per
// container; one that ends killed leaves its directory behind.
const nspawnPropagateDir = "/run/systemd/nspawn/propagate"

// Leftovers lists what a lab of dir left running or mounted: processes
// whose command line names dir, mounts under dir, and systemd-nspawn's
// directories for the lab's containers. A stopped lab leaves none.
func Leftovers(dir string) []string {
	dir, _ = filepath.Abs(dir)
	var out []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cmdline, []byte(dir+"/")) {
			continue
		}
		out = append(out, fmt.Sprintf("process %d: %s", pid, strings.Join(strings.Fields(string(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}))), " ")))
	}
	if f, err := os.Open("/proc/self/mountinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) > 4 && (fields[4] == dir || strings.HasPrefix(fields[4], dir+"/")) {
				out = append(out, "mount "+fields[4])
			}
		}
		f.Close()
	}
	prefix := "rb-" + labID(dir)[:8] + "-"
	if names, err := os.ReadDir(nspawnPropagateDir); err == nil {
		for _, n := range names {
			if strings.HasPrefix(n.Name(), prefix) {
				out = append(out, "directory "+filepath.Join(nspawnPropagateDir, n.Name()))
			}
		}
	}
	return append(out, leftoverCgroups(prefix)...)
}
