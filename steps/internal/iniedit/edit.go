package iniedit

import "strings"

// Set makes opt in section hold value and reports whether the file
// changed: the option's first line is rewritten (`opt = value`, or
// `opt=value` with tight) and any later line of the same option goes, so
// that the file holds it once; a new option goes after the last line of
// its section that is not blank, a new section at the end of the file.
func (d *Doc) Set(section, opt, value string, tight bool) bool {
	text := opt + " = " + value
	if tight {
		text = opt + "=" + value
	}
	first, changed := -1, false
	for i := 0; i < len(d.lines); i++ {
		ln := d.lines[i]
		if ln.kind != option || ln.section != section || ln.key != opt {
			continue
		}
		if first >= 0 {
			d.removeOption(i)
			i--
			changed = true
			continue
		}
		first = i
		if ln.value != value {
			d.lines[i] = d.optionLine(section, opt, value, ln.text[:ln.indent]+text, ln.text)
			d.dropContinuation(i)
			changed = true
		}
	}
	if first >= 0 {
		return changed
	}
	at, beforeHeaders := d.sectionEnd(section)
	if at < 0 {
		d.appendSection(section)
		at = len(d.lines)
	}
	indent := d.indentBefore(at)
	if at > 0 && !strings.HasSuffix(d.lines[at-1].text, "\n") {
		d.lines[at-1].text += d.nl
	}
	add := []line{d.optionLine(section, opt, value, indent+text, d.nl)}
	if beforeHeaders && d.lines[at].kind != blank {
		add = append(add, line{text: d.nl, kind: blank}) // the first global option, before a header's comments
	}
	d.lines = append(d.lines[:at], append(add, d.lines[at:]...)...)
	return true
}

// optionLine is a new option line; it takes the line ending of like.
func (d *Doc) optionLine(section, opt, value, text, like string) line {
	end := ""
	switch {
	case strings.HasSuffix(like, "\r\n"):
		end = "\r\n"
	case strings.HasSuffix(like, "\n"):
		end = "\n"
	}
	indent := len(text) - len(strings.TrimLeft(text, " \t"))
	return line{text: text + end, kind: option, section: section, key: opt, value: value, indent: indent}
}

// Unset removes every line of opt in section and reports whether there
// was one.
func (d *Doc) Unset(section, opt string) bool {
	changed := false
	for i := 0; i < len(d.lines); i++ {
		ln := d.lines[i]
		if ln.kind == option && ln.section == section && ln.key == opt {
			d.removeOption(i)
			i--
			changed = true
		}
	}
	return changed
}

// RemoveSection removes every block of section, header to the next
// header; the global section loses its options and their comments.
func (d *Doc) RemoveSection(section string) bool {
	kept := d.lines[:0:0]
	for _, ln := range d.lines {
		if ln.section != section {
			kept = append(kept, ln)
		}
	}
	changed := len(kept) != len(d.lines)
	d.lines = kept
	return changed
}

// removeOption removes the option line at i and its continuation lines.
func (d *Doc) removeOption(i int) {
	d.dropContinuation(i)
	d.lines = append(d.lines[:i], d.lines[i+1:]...)
}

// dropContinuation removes the continuation lines after the option at i
// (blank lines inside the value go with them, the blank lines after it
// stay).
func (d *Doc) dropContinuation(i int) {
	end := i + 1
	for j := i + 1; j < len(d.lines); j++ {
		if d.lines[j].kind == continuation {
			end = j + 1
		} else if d.lines[j].kind != blank {
			break
		}
	}
	d.lines = append(d.lines[:i+1], d.lines[end:]...)
}

// sectionEnd is where a new option of section goes: after its last
// option; in a section without options, after its (last) header, and in
// the global section before the comments that lead the first header
// (beforeHeaders). It is -1 when there is no such section.
func (d *Doc) sectionEnd(section string) (at int, beforeHeaders bool) {
	at = -1
	for i, ln := range d.lines {
		if ln.section == section && (ln.kind == option || ln.kind == continuation || ln.kind == header) {
			at = i + 1
		}
	}
	if at >= 0 || section != "" {
		return at, false
	}
	at = len(d.lines)
	for i, ln := range d.lines {
		if ln.kind == header {
			at = i
			break
		}
	}
	for at > 0 && d.lines[at-1].kind == comment {
		at--
	}
	return at, at < len(d.lines)
}

// indentBefore is the indentation a new option at line at takes: that of
// the option it follows (a deeper one would read as its continuation).
func (d *Doc) indentBefore(at int) string {
	for i := at - 1; i >= 0; i-- {
		switch d.lines[i].kind {
		case option:
			return d.lines[i].text[:d.lines[i].indent]
		case header:
			return ""
		}
	}
	return ""
}

// appendSection adds an empty [section] at the end, after a blank line.
func (d *Doc) appendSection(section string) {
	if n := len(d.lines); n > 0 {
		if !strings.HasSuffix(d.lines[n-1].text, "\n") {
			d.lines[n-1].text += d.nl
		}
		if d.lines[n-1].kind != blank {
			d.lines = append(d.lines, line{text: d.nl, kind: blank, section: d.lines[n-1].section})
		}
	}
	d.lines = append(d.lines, line{text: "[" + section + "]" + d.nl, kind: header, section: section})
}

// AddSection adds an empty [section] at the end unless the file has it.
func (d *Doc) AddSection(section string) bool {
	if d.HasSection(section) {
		return false
	}
	d.appendSection(section)
	return true
}
