package containers

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Package is what dpkg says of one package on a node.
type Package struct {
	Version string // "" when not installed
	Held    bool
}

// NodeStatus is one node as `runbook lab status` shows it.
type NodeStatus struct {
	Name string
	// Running says a `lab serve` process runs the node; Address and Port
	// are then where it listens.
	Running bool
	Address string
	Port    int
	// Packages are the lab's test packages, by name.
	Packages map[string]Package
	// Service is rbdemo's `systemctl is-active` on a running node.
	Service string
	// Err is why the running node could not be asked.
	Err string
}

// TestPackages are the packages of the lab's repository.
var TestPackages = []string{"rbdemo", "rbprompt", "rbbroken"}

// Status reports the named nodes of the lab in dir: a running node is
// asked over SSH; a stopped one is read from its files.
func Status(dir string, names []string) ([]NodeStatus, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("container lab: %w", err)
	}
	served := map[string]NodeInfo{}
	for _, n := range Served(dir) {
		served[n.Name] = n
	}
	img, imgErr := cachedImage()
	var out []NodeStatus
	for _, name := range names {
		if !nodeNameRe.MatchString(name) {
			return nil, fmt.Errorf("container lab: node name %q: use letters, digits, '.', '_' and '-'", name)
		}
		st := NodeStatus{Name: name, Packages: map[string]Package{}}
		upper := filepath.Join(dir, "nodes", name, "upper")
		if info, ok := served[name]; ok {
			st.Running, st.Address, st.Port = true, info.Address, info.Port
			if err := askNode(dir, info, &st); err != nil {
				st.Err = err.Error()
			}
		} else if imgErr == nil {
			status, err := readOverlay(upper, img.Rootfs, "var/lib/dpkg/status")
			if err != nil {
				return nil, fmt.Errorf("container lab: %s: %w", name, err)
			}
			st.Packages = parseDpkgStatus(status)
		} else {
			st.Err = imgErr.Error()
		}
		out = append(out, st)
	}
	return out, nil
}

// cachedImage is the node image when the cache holds it.
func cachedImage() (*Image, error) {
	cache, err := DefaultCacheDir()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(cache, "containers", "debian-12-lab-"+labKey())
	if !isReady(dir) {
		return nil, errors.New("the node image is not built yet")
	}
	return &Image{Rootfs: filepath.Join(dir, "rootfs"), Key: labKey()}, nil
}

// readOverlay reads a file as the node sees it: its own copy, else the
// image's.
func readOverlay(upper, lower, rel string) ([]byte, error) {
	data, err := os.ReadFile(filepath.Join(upper, rel))
	if err == nil {
		return data, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return os.ReadFile(filepath.Join(lower, rel))
}

// parseDpkgStatus reads the test packages from a dpkg status file.
func parseDpkgStatus(data []byte) map[string]Package {
	out := map[string]Package{}
	want := map[string]bool{}
	for _, p := range TestPackages {
		want[p] = true
	}
	var name, status, version string
	flush := func() {
		if want[name] {
			f := strings.Fields(status)
			p := Package{Held: len(f) > 0 && f[0] == "hold"}
			if len(f) == 3 && f[2] == "installed" {
				p.Version = version
			}
			out[name] = p
		}
		name, status, version = "", "", ""
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			flush()
		case strings.HasPrefix(line, "Package: "):
			name = strings.TrimPrefix(line, "Package: ")
		case strings.HasPrefix(line, "Status: "):
			status = strings.TrimPrefix(line, "Status: ")
		case strings.HasPrefix(line, "Version: "):
			version = strings.TrimPrefix(line, "Version: ")
		}
	}
	flush()
	return out
}

// askNode fills st from the running node, over SSH as the login user.
func askNode(dir string, info NodeInfo, st *NodeStatus) error {
	key, err := os.ReadFile(filepath.Join(dir, clientKeyName))
	if err != nil {
		return err
	}
	signer, err := ssh.ParsePrivateKey(key)
	if err != nil {
		return err
	}
	hk, err := knownhosts.New(filepath.Join(dir, knownHostsName))
	if err != nil {
		return err
	}
	c, err := ssh.Dial("tcp", net.JoinHostPort(info.Address, strconv.Itoa(info.Port)), &ssh.ClientConfig{
		User: LoginUser, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: hk, Timeout: 10 * time.Second})
	if err != nil {
		return err
	}
	defer c.Close()
	s, err := c.NewSession()
	if err != nil {
		return err
	}
	defer s.Close()
	out, err := s.Output("systemctl is-active rbdemo; cat /var/lib/dpkg/status")
	if len(out) == 0 && err != nil {
		return err
	}
	first, rest, _ := strings.Cut(string(out), "\n")
	st.Service = strings.TrimSpace(first)
	st.Packages = parseDpkgStatus([]byte(rest))
	return nil
}
