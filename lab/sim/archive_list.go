package sim

// ArchivePackage is a package of the lab's apt archive with the versions
// one repository offers, oldest first.
type ArchivePackage struct {
	Repository string // the apt source line's URL and suite, as a node's sources name it
	Name       string
	Versions   []string
}

// Archive lists what the lab's apt archive offers, repository by
// repository: what a runbook rehearsed on the lab can install.
func Archive() []ArchivePackage {
	var out []ArchivePackage
	for _, r := range labRepos {
		source := archiveSource(r)
		index := map[string]int{}
		for _, p := range r.Packages {
			i, ok := index[p.Name]
			if !ok {
				out = append(out, ArchivePackage{Repository: source, Name: p.Name})
				i = len(out) - 1
				index[p.Name] = i
			}
			out[i].Versions = append(out[i].Versions, p.Version)
		}
	}
	return out
}

func archiveSource(r labRepo) string {
	switch r.Project {
	case "cri-o":
		return "https://pkgs.k8s.io/addons:/cri-o:/stable:/v" + r.Minor + "/deb /"
	case "kubernetes":
		return "https://pkgs.k8s.io/core:/stable:/v" + r.Minor + "/deb /"
	case "ubuntu":
		if r.Minor == "jammy-security" {
			return "http://security.ubuntu.com/ubuntu " + r.Minor
		}
		return "http://archive.ubuntu.com/ubuntu " + r.Minor
	}
	return r.Project + " " + r.Minor
}
