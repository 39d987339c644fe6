package sim

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
)

// debPackage is one version of a package of the lab archive.
type debPackage struct {
	Name          string
	Version       string
	Section       string
	Size          int64 // bytes of the .deb
	InstalledSize int64 // KiB
	Maintainer    string
	Description   string
}

// labRepo is one apt repository of the lab archive.
type labRepo struct {
	Project  string // "cri-o" or "kubernetes"
	Minor    string // e.g. "1.30"
	Packages []debPackage
}

const (
	crioDescription    = "Open Container Initiative-based implementation of Kubernetes Container Runtime Interface"
	k8sMaintainer      = "Kubernetes Authors <dev@kubernetes.io>"
	crioMaintainer     = "CRI-O Authors <cri-o-maintainers@lists.cncf.io>"
	kubeletDescription = "Node agent for Kubernetes clusters"
)

func crioPkg(v string) debPackage {
	return debPackage{Name: "cri-o", Version: v, Section: "admin", Size: 21_240_000, InstalledSize: 98_120,
		Maintainer: crioMaintainer, Description: crioDescription}
}

func k8sPkgs(v string) []debPackage {
	return []debPackage{
		{Name: "kubelet", Version: v, Section: "admin", Size: 19_900_000, InstalledSize: 105_000, Maintainer: k8sMaintainer, Description: kubeletDescription},
		{Name: "kubeadm", Version: v, Section: "admin", Size: 10_100_000, InstalledSize: 48_800, Maintainer: k8sMaintainer, Description: "Command-line utility for administering a Kubernetes cluster"},
		{Name: "kubectl", Version: v, Section: "admin", Size: 10_500_000, InstalledSize: 49_400, Maintainer: k8sMaintainer, Description: "Command-line utility for interacting with a Kubernetes cluster"},
	}
}

// labRepos is the lab's package archive: one repository per project and
// minor version, as pkgs.k8s.io serves them.
var labRepos = []labRepo{
	{Project: "cri-o", Minor: "1.29", Packages: []debPackage{crioPkg("1.29.7-1.1"), crioPkg("1.29.9-1.1")}},
	{Project: "cri-o", Minor: "1.30", Packages: []debPackage{crioPkg("1.30.3-1.1"), crioPkg("1.30.4-1.1"), crioPkg("1.30.5-1.1")}},
	{Project: "kubernetes", Minor: "1.29", Packages: concat(
		k8sPkgs("1.29.6-1.1"), k8sPkgs("1.29.7-1.1"), k8sPkgs("1.29.8-1.1"), k8sPkgs("1.29.9-1.1"),
		[]debPackage{
			{Name: "cri-tools", Version: "1.29.0-1.1", Section: "admin", Size: 19_800_000, InstalledSize: 52_000, Maintainer: k8sMaintainer, Description: "Command-line utility for interacting with a container runtime"},
			{Name: "kubernetes-cni", Version: "1.3.0-1.1", Section: "admin", Size: 37_000_000, InstalledSize: 70_000, Maintainer: k8sMaintainer, Description: "Binaries required to provision kubernetes container networking"},
		})},
	{Project: "kubernetes", Minor: "1.30", Packages: concat(
		k8sPkgs("1.30.3-1.1"), k8sPkgs("1.30.4-1.1"),
		[]debPackage{
			{Name: "cri-tools", Version: "1.30.1-1.1", Section: "admin", Size: 20_100_000, InstalledSize: 53_000, Maintainer: k8sMaintainer, Description: "Command-line utility for interacting with a container runtime"},
			{Name: "kubernetes-cni", Version: "1.4.0-1.1", Section: "admin", Size: 37_500_000, InstalledSize: 71_000, Maintainer: k8sMaintainer, Description: "Binaries required to provision kubernetes container networking"},
		})},
	// The Ubuntu pockets whose packages the lab simulates (main only: the
	// kernels and a few libraries, ubuntu_updates.go); the rest of Ubuntu's
	// archive answers but is empty.
	{Project: "ubuntu", Minor: "jammy-updates", Packages: concat(ubuntuKernels, ubuntuUserland)},
	{Project: "ubuntu", Minor: "jammy-security", Packages: concat(ubuntuKernels, ubuntuUserland)},
}

// Ubuntu kernels of the lab archive: the one a new node runs, and a
// security update (jammy-security and jammy-updates carry both).
const (
	ubuntuMaintainer = "Ubuntu Kernel Team <kernel-team@lists.ubuntu.com>"
	oldKernelPackage = "linux-image-5.15.0-119-generic"
	oldKernelVersion = "5.15.0-119.129"
	newKernelPackage = "linux-image-5.15.0-122-generic"
	newKernelVersion = "5.15.0-122.132"
)

func kernelPkg(name, version string) debPackage {
	return debPackage{Name: name, Version: version, Section: "kernel", Size: 11_650_000, InstalledSize: 11_920,
		Maintainer: ubuntuMaintainer, Description: "Signed kernel image generic"}
}

var ubuntuKernels = []debPackage{kernelPkg(oldKernelPackage, oldKernelVersion), kernelPkg(newKernelPackage, newKernelVersion)}

func concat(lists ...[]debPackage) []debPackage {
	var out []debPackage
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// archivePackage finds a package version in the archive.
func archivePackage(name, version string) (debPackage, bool) {
	for _, r := range labRepos {
		for _, p := range r.Packages {
			if p.Name == name && p.Version == version {
				return p, true
			}
		}
	}
	return debPackage{}, false
}

var (
	crioRepoRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^https?://(?:pkgs\.k8s\.io/addons:/cri-o:/stable:|download\.opensuse\.org/repositories/isv:/cri-o:/stable:)/v(\d+\.\d+)/deb$`)
	})
	coreRepoRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^https?://pkgs\.k8s\.io/core:/stable:/v(\d+\.\d+)/deb$`)
	})
	labHostRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^https?://(pkgs\.k8s\.io|download\.opensuse\.org)/`) })
	ubuntuRE  = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^https?://([a-z0-9.-]+\.)?(archive|security|ports)\.ubuntu\.com/`)
	})
)

// sourceLine is one "deb" line of the apt sources.
type sourceLine struct {
	File     string
	URI      string // without the trailing slash
	Suite    string
	Comps    []string
	SignedBy string
}

// display is the repository as apt names it in messages: "URI " for a
// flat repository ("/", so that "URI  InRelease" shows two spaces), else
// "URI suite".
func (s sourceLine) display() string {
	if s.Suite == "/" {
		return s.URI + " "
	}
	return s.URI + " " + s.Suite
}

// repoKind classifies a source.
type repoKind int

const (
	repoLab      repoKind = iota // a repository of the lab archive
	repoUbuntu                   // an Ubuntu mirror: reachable, its packages not simulated
	repoNotFound                 // a lab host, but no such repository (404)
	repoNoHost                   // any other host: unreachable from the lab
)

// classify finds the lab repository a source names.
func (s sourceLine) classify() (repoKind, *labRepo) {
	if m := crioRepoRE().FindStringSubmatch(s.URI); m != nil && s.Suite == "/" {
		return findRepo("cri-o", m[1])
	}
	if m := coreRepoRE().FindStringSubmatch(s.URI); m != nil && s.Suite == "/" {
		return findRepo("kubernetes", m[1])
	}
	switch {
	case labHostRE().MatchString(s.URI):
		return repoNotFound, nil
	case ubuntuRE().MatchString(s.URI+"/") && slices.Contains(s.Comps, "main"):
		if kind, repo := findRepo("ubuntu", s.Suite); kind == repoLab {
			return kind, repo
		}
		return repoUbuntu, nil
	case ubuntuRE().MatchString(s.URI + "/"):
		return repoUbuntu, nil
	}
	return repoNoHost, nil
}

func findRepo(project, minor string) (repoKind, *labRepo) {
	for i := range labRepos {
		if labRepos[i].Project == project && labRepos[i].Minor == minor {
			return repoLab, &labRepos[i]
		}
	}
	return repoNotFound, nil
}

// listsFile is the file under /var/lib/apt/lists holding a repository's
// package index: URI_Packages for a flat repository, and
// URI_dists_SUITE_main_binary-amd64_Packages for a suite's main component.
func (s sourceLine) listsFile() string {
	u := s.URI
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
	}
	if s.Suite != "/" {
		u += "/dists/" + s.Suite + "/main/binary-amd64"
	}
	return "/var/lib/apt/lists/" + strings.ReplaceAll(u, "/", "_") + "_Packages"
}

// listsOrigin is the origin apt shows for the packages of a lists file
// ("URI  Packages" for a flat repository, "URI SUITE/main amd64 Packages"
// for a suite).
func listsOrigin(name string) string {
	base := strings.TrimSuffix(name, "_Packages")
	if i := strings.Index(base, "_dists_"); i >= 0 {
		suite, _, _ := strings.Cut(base[i+len("_dists_"):], "_")
		return "http://" + strings.ReplaceAll(base[:i], "_", "/") + " " + suite + "/main amd64 Packages"
	}
	return "https://" + strings.ReplaceAll(base, "_", "/") + "  Packages"
}

// readSources reads /etc/apt/sources.list and /etc/apt/sources.list.d/*.list.
func readSources(root *os.Root) ([]sourceLine, []string) {
	var out []sourceLine
	var warnings []string
	files := []string{"/etc/apt/sources.list"}
	names, _ := listRootDir(root, "/etc/apt/sources.list.d")
	for _, n := range names {
		if strings.HasSuffix(n, ".list") {
			files = append(files, "/etc/apt/sources.list.d/"+n)
		} else if !strings.HasSuffix(n, ".sources") && !strings.HasSuffix(n, ".save") && !strings.HasSuffix(n, ".distUpgrade") {
			warnings = append(warnings, fmt.Sprintf("N: Ignoring file '%s' in directory '/etc/apt/sources.list.d/' as it has an invalid filename extension", n))
		}
	}
	for _, f := range files {
		data, err := readRootFile(root, f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			if i := strings.IndexByte(line, '#'); i >= 0 {
				line = line[:i]
			}
			fields := strings.Fields(line)
			if len(fields) == 0 || fields[0] != "deb" {
				continue
			}
			sl := sourceLine{File: f}
			rest := fields[1:]
			if len(rest) > 0 && strings.HasPrefix(rest[0], "[") {
				var opts []string
				for len(rest) > 0 {
					opts = append(opts, rest[0])
					done := strings.HasSuffix(rest[0], "]")
					rest = rest[1:]
					if done {
						break
					}
				}
				for _, o := range strings.Fields(strings.Trim(strings.Join(opts, " "), "[]")) {
					if v, ok := strings.CutPrefix(o, "signed-by="); ok {
						sl.SignedBy = v
					}
				}
			}
			if len(rest) < 2 {
				warnings = append(warnings, fmt.Sprintf("E: Malformed entry in list file %s (Suite)", f))
				continue
			}
			sl.URI = strings.TrimSuffix(rest[0], "/")
			sl.Suite = rest[1]
			sl.Comps = rest[2:]
			out = append(out, sl)
		}
	}
	return out, warnings
}

// availableVersion is a package version apt knows from its lists.
type availableVersion struct {
	pkg    debPackage
	origin string // "URI  Packages" as apt-cache policy shows it
}

// readLists returns, per package name, the versions apt's lists know,
// highest first.
func readLists(root *os.Root) map[string][]availableVersion {
	out := map[string][]availableVersion{}
	names, _ := listRootDir(root, "/var/lib/apt/lists")
	for _, n := range names {
		if !strings.HasSuffix(n, "_Packages") {
			continue
		}
		data, err := readRootFile(root, "/var/lib/apt/lists/"+n)
		if err != nil {
			continue
		}
		origin := listsOrigin(n)
		for _, stanza := range splitStanzas(string(data)) {
			var name, version string
			for _, f := range stanza {
				switch f[0] {
				case "Package":
					name = f[1]
				case "Version":
					version = f[1]
				}
			}
			if p, ok := archivePackage(name, version); ok {
				out[name] = append(out[name], availableVersion{pkg: p, origin: origin})
			}
		}
	}
	for _, vs := range out {
		sort.SliceStable(vs, func(i, j int) bool { return compareDebVersions(vs[i].pkg.Version, vs[j].pkg.Version) > 0 })
	}
	return out
}

// packagesIndex renders a repository's Packages file.
func packagesIndex(r *labRepo) string {
	var b strings.Builder
	for _, p := range r.Packages {
		fmt.Fprintf(&b, "Package: %s\nArchitecture: amd64\nVersion: %s\nPriority: optional\nSection: %s\nMaintainer: %s\nInstalled-Size: %d\nFilename: amd64/%s_%s_amd64.deb\nSize: %d\nDescription: %s\n\n",
			p.Name, p.Version, p.Section, p.Maintainer, p.InstalledSize, p.Name, p.Version, p.Size, p.Description)
	}
	return b.String()
}
