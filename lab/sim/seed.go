package sim

import (
	"fmt"
	"os"
	"time"
)

// Versions of a new node.
const (
	initialCrio       = "1.29.9-1.1"
	initialKubernetes = "1.29.6-1.1"
	kubeVersion       = "v1.29.6"
	seedAge           = 10 * 24 * time.Hour // a new node booted that long ago
)

const osRelease = `PRETTY_NAME="Ubuntu 22.04.4 LTS"
NAME="Ubuntu"
VERSION_ID="22.04"
VERSION="22.04.4 LTS (Jammy Jellyfish)"
VERSION_CODENAME=jammy
ID=ubuntu
ID_LIKE=debian
HOME_URL="https://www.ubuntu.com/"
SUPPORT_URL="https://help.ubuntu.com/"
BUG_REPORT_URL="https://bugs.launchpad.net/ubuntu/"
PRIVACY_POLICY_URL="https://www.ubuntu.com/legal/terms-and-policies/privacy-policy"
UBUNTU_CODENAME=jammy
`

const lsbRelease = `DISTRIB_ID=Ubuntu
DISTRIB_RELEASE=22.04
DISTRIB_CODENAME=jammy
DISTRIB_DESCRIPTION="Ubuntu 22.04.4 LTS"
`

const ubuntuSources = `# See http://help.ubuntu.com/community/UpgradeNotes for how to upgrade to
# newer versions of the distribution.
deb http://archive.ubuntu.com/ubuntu/ jammy main restricted universe multiverse
deb http://archive.ubuntu.com/ubuntu/ jammy-updates main restricted universe multiverse
deb http://security.ubuntu.com/ubuntu/ jammy-security main restricted universe multiverse
`

const (
	crioRepoLine = "deb [signed-by=/etc/apt/keyrings/cri-o-apt-keyring.gpg] https://pkgs.k8s.io/addons:/cri-o:/stable:/v1.29/deb/ /\n"
	coreRepoLine = "deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] https://pkgs.k8s.io/core:/stable:/v1.29/deb/ /\n"
)

const crictlYAML = `runtime-endpoint: unix:///var/run/crio/crio.sock
image-endpoint: unix:///var/run/crio/crio.sock
timeout: 10
debug: false
`

const policyJSON = `{
    "default": [
        {
            "type": "insecureAcceptAnything"
        }
    ],
    "transports": {
        "docker-daemon": {
            "": [
                {
                    "type": "insecureAcceptAnything"
                }
            ]
        }
    }
}
`

const registriesConf = `# For more information on this configuration file, see containers-registries.conf(5).
unqualified-search-registries = ["docker.io", "quay.io"]
short-name-mode = "enforcing"
`

const kubeletConfig = `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
clusterDNS:
- 10.96.0.10
clusterDomain: cluster.local
containerRuntimeEndpoint: unix:///var/run/crio/crio.sock
staticPodPath: /etc/kubernetes/manifests
`

// kubeconfig is a (credential-free) kubeconfig of the lab cluster.
func kubeconfig(user string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: TEFCIENMVVNURVIgQ0E=
    server: https://10.0.0.11:6443
  name: kubernetes
contexts:
- context:
    cluster: kubernetes
    user: %[1]s
  name: %[1]s@kubernetes
current-context: %[1]s@kubernetes
users:
- name: %[1]s
  user: {}
`, user)
}

// basePackages are the Ubuntu packages of a new node besides the
// Kubernetes ones (not in the lab archive: they cannot be reinstalled).
var basePackages = []dpkgEntry{
	{Package: "apt", Version: "2.4.12", Section: "admin", Priority: "important", Description: "commandline package manager"},
	{Package: "bash", Version: "5.1-6ubuntu1.1", Section: "shells", Priority: "required", Description: "GNU Bourne Again SHell"},
	{Package: "ca-certificates", Version: "20230311ubuntu0.22.04.1", Section: "misc", Priority: "important", Description: "Common CA certificates"},
	{Package: "coreutils", Version: "8.32-4.1ubuntu1.2", Section: "utils", Priority: "required", Description: "GNU core utilities"},
	{Package: "curl", Version: "7.81.0-1ubuntu1.16", Section: "web", Priority: "optional", Description: "command line tool for transferring data with URL syntax"},
	{Package: "dpkg", Version: "1.21.1ubuntu2.3", Section: "admin", Priority: "required", Description: "Debian package management system"},
	{Package: "gnupg", Version: "2.2.27-3ubuntu2.1", Section: "utils", Priority: "optional", Description: "GNU privacy guard - a free PGP replacement"},
	{Package: "openssh-server", Version: "1:8.9p1-3ubuntu0.10", Section: "net", Priority: "optional", Description: "secure shell (SSH) server, for secure access from remote machines"},
	{Package: "systemd", Version: "249.11-0ubuntu3.12", Section: "admin", Priority: "important", Description: "system and service manager"},
}

// seedNode creates the node in its initial state: its root files, the
// installed packages, its pods, and a first boot (ten days ago).
func (tx *txn) seedNode(cfg NodeConfig, now time.Time) error {
	return tx.w.withRoot(cfg.Name, func(root *os.Root) error { return tx.seedNodeIn(root, cfg, now) })
}

func (tx *txn) seedNodeIn(root *os.Root, cfg NodeConfig, now time.Time) error {
	w := tx.w
	if err := clearRootDir(root, "/"); err != nil {
		return fmt.Errorf("lab: %s: clearing root: %w", cfg.Name, err)
	}
	if err := os.Remove(w.journalPath(cfg.Name)); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("lab: %s: %w", cfg.Name, err)
	}
	idx := w.index[cfg.Name]
	if err := seedFiles(root, cfg, idx); err != nil {
		return fmt.Errorf("lab: %s: seeding root: %w", cfg.Name, err)
	}
	base := now.Add(-seedAge)
	n := &nodeState{
		Name: cfg.Name, Role: cfg.Role, Index: idx, InitialCrio: initialCrio,
		Units: map[string]*unitState{},
		Node: kubeNode{
			Created: base, InternalIP: nodeIP(idx), PodCIDR: podCIDR(idx),
		},
		faults: cfg.Faults,
	}
	for _, d := range unitDefs {
		n.unit(d.Name).Enabled = !d.Static
	}
	n.Pods = tx.initialPods(cfg, idx, base)
	delete(w.nodes, cfg.Name)
	tx.adopt(cfg.Name, n)

	saved, seeding := tx.now, tx.seeding
	tx.now, tx.seeding = base, true
	err := tx.boot(n, root)
	tx.now, tx.seeding = saved, seeding
	return err
}

// seedFiles writes the files of a new node.
func seedFiles(root *os.Root, cfg NodeConfig, idx int) error {
	rw := newRootWriter(root)
	defer rw.close()
	files := map[string]string{
		"/etc/os-release":                              osRelease,
		"/etc/lsb-release":                             lsbRelease,
		"/etc/hostname":                                cfg.Name + "\n",
		"/etc/hosts":                                   fmt.Sprintf("127.0.0.1 localhost\n%s %s\n\n::1 ip6-localhost ip6-loopback\n", nodeIP(idx), cfg.Name),
		"/etc/machine-id":                              newHexID()[:32] + "\n",
		"/etc/passwd":                                  "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
		"/etc/group":                                   "root:x:0:\ndaemon:x:1:\nadm:x:4:\nsudo:x:27:\nnogroup:x:65534:\n",
		"/etc/apt/sources.list":                        ubuntuSources,
		"/etc/apt/sources.list.d/cri-o.list":           crioRepoLine,
		"/etc/apt/sources.list.d/kubernetes.list":      coreRepoLine,
		"/etc/apt/keyrings/cri-o-apt-keyring.gpg":      labKeyring("cri-o"),
		"/etc/apt/keyrings/kubernetes-apt-keyring.gpg": labKeyring("kubernetes"),
		"/var/lib/dpkg/lock":                           "",
		"/var/lib/dpkg/lock-frontend":                  "",
		"/var/lib/apt/lists/lock":                      "",
		"/etc/crictl.yaml":                             crictlYAML,
		"/etc/containers/policy.json":                  policyJSON,
		"/etc/containers/registries.conf":              registriesConf,
		"/etc/cni/net.d/10-flannel.conflist":           `{"name":"cbr0","cniVersion":"0.3.1","plugins":[{"type":"flannel","delegate":{"hairpinMode":true,"isDefaultGateway":true}},{"type":"portmap","capabilities":{"portMappings":true}}]}` + "\n",
		"/var/lib/kubelet/config.yaml":                 kubeletConfig,
		"/etc/kubernetes/kubelet.conf":                 kubeconfig("system:node:" + cfg.Name),
	}
	if cfg.Role == RoleControlPlane {
		files["/etc/kubernetes/admin.conf"] = kubeconfig("kubernetes-admin")
		files["/root/.kube/config"] = kubeconfig("kubernetes-admin")
		for _, c := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"} {
			files["/etc/kubernetes/manifests/"+c+".yaml"] = fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n  namespace: kube-system\n", c)
		}
	}
	for p, content := range files {
		if err := rw.write(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	for _, d := range []string{"/tmp", "/var/tmp", "/run", "/var/log", "/root"} {
		if err := root.MkdirAll(rel(d), 0o755); err != nil {
			return err
		}
	}
	if err := root.Chmod("tmp", 0o777|os.ModeSticky); err != nil {
		return err
	}
	if err := root.Symlink("../run", rel("/var/run")); err != nil {
		return err
	}
	// packages: the Ubuntu base, then those of the lab archive
	var entries []*dpkgEntry
	for _, e := range basePackages {
		e := e
		e.Want, e.State, e.Architecture = "install", "installed", "amd64"
		if e.Package == "ca-certificates" {
			e.Architecture = "all"
		}
		e.Maintainer = "Ubuntu Developers <ubuntu-devel-discuss@lists.ubuntu.com>"
		entries = append(entries, &e)
	}
	for _, pv := range append([][2]string{
		{"cri-o", initialCrio}, {"kubelet", initialKubernetes}, {"kubeadm", initialKubernetes},
		{"kubectl", initialKubernetes}, {"cri-tools", "1.29.0-1.1"}, {"kubernetes-cni", "1.3.0-1.1"},
		{oldKernelPackage, oldKernelVersion},
	}, ubuntuSeed()...) {
		p, ok := archivePackage(pv[0], pv[1])
		if !ok {
			return fmt.Errorf("package %s=%s missing from the lab archive", pv[0], pv[1])
		}
		want := "install"
		if p.Name == "kubelet" || p.Name == "kubeadm" || p.Name == "kubectl" {
			want = "hold" // as the kubeadm installation guide does
		}
		entries = append(entries, dpkgEntryOf(p, want, "installed"))
		if err := unpackWith(rw, p.Name, p.Version); err != nil {
			return err
		}
	}
	if err := writeDpkgStatus(root, entries); err != nil {
		return err
	}
	// apt's lists as after an `apt-get update` with the v1.29 repositories
	sources, _ := readSources(root)
	for _, s := range sources {
		if kind, repo := s.classify(); kind == repoLab {
			if err := rw.write(s.listsFile(), []byte(packagesIndex(repo)), 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

// dpkgEntryOf is the dpkg status entry of an installed archive package.
func dpkgEntryOf(p debPackage, want, state string) *dpkgEntry {
	return &dpkgEntry{
		Package: p.Name, Want: want, State: state, Priority: "optional", Section: p.Section,
		InstalledSize: fmt.Sprint(p.InstalledSize), Maintainer: p.Maintainer, Architecture: "amd64",
		Version: p.Version, Description: p.Description,
	}
}

// labKeyring is the content of a dearmored repository key of the lab.
func labKeyring(project string) string {
	return "\x99\x01\x0d\x04lab-keyring " + project + " isv:kubernetes OBS Project <isv:kubernetes@build.opensuse.org>\n"
}
