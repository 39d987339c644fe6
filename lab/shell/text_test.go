package shell

import (
	"math/rand/v2"
	"slices"
	"testing"
)

var lines = map[string]string{
	"/d/f":    "apple 3\nBanana 10\ncherry 2\napple 1\n",
	"/d/g":    "one\ntwo\nthree\nfour\nfive\n",
	"/d/conf": "# comment\nkey=value\nruntime = \"crun\"\n[section]\nother=1\n",
}

func TestHeadTailWcTee(t *testing.T) {
	runTable(t, []tcase{
		{name: "head", files: lines, script: "head -n 2 /d/g; head -2 /d/g; head -c 5 /d/g; echo; head -n -3 /d/g", out: "one\ntwo\none\ntwo\none\nt\none\ntwo\n"},
		{name: "head default and stdin", script: "seq 20 | head | wc -l", out: "10\n"},
		{name: "head headers", files: lines, script: "head -n1 /d/f /d/g", out: "==> /d/f <==\napple 3\n\n==> /d/g <==\none\n"},
		{name: "head bad number", script: "head -n x", code: 1, errHas: "invalid number of lines"},
		{name: "tail", files: lines, script: "tail -n 2 /d/g; tail -n +4 /d/g; tail -1 /d/g; tail -c 3 /d/g", out: "four\nfive\nfour\nfive\nfive\nve\n"},
		{name: "wc", files: lines, script: "wc -l /d/g; wc -w < /d/f; wc -c /d/g; wc /d/g", out: "5 /d/g\n8\n24 /d/g\n 5  5 24 /d/g\n"},
		{name: "wc total", files: lines, script: "wc -l /d/f /d/g", out: " 4 /d/f\n 5 /d/g\n 9 total\n"},
		{name: "tee", script: "echo hi | tee /tmp/a /tmp/b; echo more | tee -a /tmp/a >/dev/null; cat /tmp/a /tmp/b", out: "hi\nhi\nmore\nhi\n"},
		{name: "uniq", script: "printf 'a\\na\\nb\\na\\n' | uniq; printf 'a\\na\\nb\\n' | uniq -c; printf 'a\\na\\nb\\n' | uniq -d; printf 'a\\na\\nb\\n' | uniq -u",
			out: "a\nb\na\n      2 a\n      1 b\na\nb\n"},
		{name: "seq", script: "seq 3; seq 2 4; seq 10 -3 1; seq -s, 3; seq -w 8 10; seq 0.5 0.5 1.5", out: "1\n2\n3\n2\n3\n4\n10\n7\n4\n1\n1,2,3\n08\n09\n10\n0.5\n1\n1.5\n"},
		{name: "yes", script: "yes | head -3; yes ok | head -1", out: "y\ny\ny\nok\n"},
	})
}

func TestGrep(t *testing.T) {
	runTable(t, []tcase{
		{name: "basic", files: lines, script: "grep apple /d/f", out: "apple 3\napple 1\n"},
		{name: "no match", files: lines, script: "grep kiwi /d/f", code: 1},
		{name: "missing file", script: "grep x /nope", code: 2, errHas: "grep: /nope: No such file or directory"},
		{name: "-i -c", files: lines, script: "grep -ic banana /d/f", out: "1\n"},
		{name: "-v -n", files: lines, script: "grep -vn apple /d/f", out: "2:Banana 10\n3:cherry 2\n"},
		{name: "-q", files: lines, script: "grep -q cherry /d/f && echo yes", out: "yes\n"},
		{name: "-E", files: lines, script: "grep -E '^(apple|cherry) [0-9]$' /d/f", out: "apple 3\ncherry 2\napple 1\n"},
		{name: "BRE groups and intervals", files: lines, script: `grep '^\(ap\)\{1\}ple [0-9]\+$' /d/f; grep 'a|b' /d/f; grep 'ple\?' /d/f | wc -l`, out: "apple 3\napple 1\n2\n"},
		{name: "-F", script: "printf 'a.b\\naxb\\n' | grep -F a.b", out: "a.b\n"},
		{name: "-o", files: lines, script: "grep -o '[0-9]\\+' /d/f", out: "3\n10\n2\n1\n"},
		{name: "-x -w", script: "printf 'foo\\nfoobar\\nfoo bar\\n' | grep -x foo; printf 'foo\\nfoobar\\nfoo bar\\n' | grep -w foo", out: "foo\nfoo\nfoo bar\n"},
		{name: "-e several", files: lines, script: "grep -e cherry -e Banana /d/f", out: "Banana 10\ncherry 2\n"},
		{name: "-r -l -h -H", files: lines, script: "grep -rl apple /d; grep -h one /d/g /d/g; grep -H two /d/g", out: "/d/f\none\none\n/d/g:two\n"},
		{name: "multiple files", files: lines, script: "grep -c e /d/f /d/g", out: "/d/f:3\n/d/g:3\n"},
		{name: "context", files: lines, script: "grep -A1 two /d/g; grep -B1 four /d/g; grep -C1 three /d/g", out: "two\nthree\nthree\nfour\ntwo\nthree\nfour\n"},
		{name: "-m", files: lines, script: "grep -m1 apple /d/f", out: "apple 3\n"},
		{name: "classes", files: lines, script: "grep '^[[:upper:]]' /d/f; grep -c '[[:space:]]' /d/conf", out: "Banana 10\n2\n"},
		{name: "binary", script: "printf 'a\\000b\\n' > /tmp/bin; grep a /tmp/bin", out: "Binary file /tmp/bin matches\n"},
		{name: "backreference refused", script: "grep '\\(a\\)\\1' /etc/hostname", code: 2, errHas: "back-references"},
		{name: "bad option", script: "grep -Y x", code: 2, errHas: "usage: grep"},
		{name: "egrep", files: lines, script: "egrep 'one|two' /d/g", out: "one\ntwo\n"},
	})
}

func TestSed(t *testing.T) {
	runTable(t, []tcase{
		{name: "s", script: "echo hello world | sed 's/o/0/'; echo hello world | sed 's/o/0/g'; echo aaa | sed 's/a/b/2'", out: "hell0 world\nhell0 w0rld\naba\n"},
		{name: "-n p", files: lines, script: "sed -n '2p' /d/g; sed -n '/^t/p' /d/g; sed -n '$p' /d/g", out: "two\ntwo\nthree\nfive\n"},
		{name: "ranges and d", files: lines, script: "sed '2,4d' /d/g; sed '/two/,/four/d' /d/g", out: "one\nfive\none\nfive\n"},
		{name: "groups & and case", script: `echo 'key=value' | sed -E 's/([a-z]+)=(.*)/\2=\1 [&]/'; echo abc | sed 's/b/\U&/'`, out: "value=key [key=value]\naBc\n"},
		{name: "BRE groups", script: `echo 'a-b' | sed 's/\(a\)-\(b\)/\2-\1/'`, out: "b-a\n"},
		{name: "-e several and ;", script: "echo abc | sed -e 's/a/A/' -e 's/c/C/'; echo abc | sed 's/a/1/;s/b/2/'", out: "AbC\n12c\n"},
		{name: "delimiters", script: "echo /usr/lib | sed 's|/usr|/opt|'; echo a/b | sed 's/\\//:/'", out: "/opt/lib\na:b\n"},
		{name: "-i", files: lines, script: `sed -i 's/^runtime = .*/runtime = "runc"/' /d/conf; grep runtime /d/conf`, out: "runtime = \"runc\"\n"},
		{name: "-i suffix", files: lines, script: "sed -i.bak 's/one/ONE/' /d/g; head -1 /d/g /d/g.bak", out: "==> /d/g <==\nONE\n\n==> /d/g.bak <==\none\n"},
		{name: "-i no files", script: "sed -i s/a/b/", code: 1, errHas: "no input files"},
		{name: "a i c", files: lines, script: "sed '2a\\\nafter' /d/g | head -4; sed '1i before' /d/g | head -2; sed '2c changed' /d/g | head -3",
			out: "one\ntwo\nafter\nthree\nbefore\none\none\nchanged\nthree\n"},
		{name: "address negation and blocks", files: lines, script: "sed -n '/o/!p' /d/g; sed -n '/^t/{s/t/T/;p}' /d/g", out: "three\nfive\nTwo\nThree\n"},
		{name: "q and =", files: lines, script: "sed 2q /d/g; sed -n '$=' /d/g", out: "one\ntwo\n5\n"},
		{name: "y", script: "echo hello | sed 'y/elo/ELO/'", out: "hELLO\n"},
		{name: "hold space", script: "printf '1\\n2\\n3\\n' | sed -n '1!G;h;$p'", out: "3\n2\n1\n"},
		{name: "N and D", script: "printf 'a\\nb\\nc\\n' | sed 'N;s/\\n/+/'", out: "a+b\nc\n"},
		{name: "labels", script: "echo aaa | sed ':a;s/a/b/;ta'", out: "bbb\n"},
		{name: "no final newline kept", script: "printf 'x\\ny' | sed s/y/z/", out: "x\nz"},
		{name: "comment and I", script: "echo Hello | sed '# c\ns/hello/bye/I'", out: "bye\n"},
		{name: "w file", files: lines, script: "sed -n '/t/w /tmp/w' /d/g; cat /tmp/w", out: "two\nthree\n"},
		{name: "unknown command", script: "sed k", code: 1, errHas: "unknown command"},
		{name: "unterminated", script: "sed 's/a/b'", code: 1, errHas: "unterminated"},
		{name: "missing file", script: "sed p /nope", code: 2, errHas: "can't read /nope"},
	})
}

func TestCutTrSort(t *testing.T) {
	runTable(t, []tcase{
		{name: "cut -d -f", script: "echo 'a:b:c:d' | cut -d: -f2; echo 'a:b:c:d' | cut -d: -f1,3-; echo 'a:b:c' | cut -d: -f-2", out: "b\na:c:d\na:b\n"},
		{name: "cut -c", script: "echo abcdef | cut -c2-4; echo abcdef | cut -c1,6", out: "bcd\naf\n"},
		{name: "cut -s and no delimiter", script: "printf 'a b\\nnone\\n' | cut -d' ' -f2; printf 'a b\\nnone\\n' | cut -s -d' ' -f2", out: "b\nnone\nb\n"},
		{name: "cut tab default", script: "printf 'x\\ty\\n' | cut -f2", out: "y\n"},
		{name: "cut --output-delimiter", script: "echo a:b:c | cut -d: -f1,3 --output-delimiter=-", out: "a-c\n"},
		{name: "cut no list", script: "cut -d:", code: 1, errHas: "you must specify"},
		{name: "tr", script: "echo hello | tr a-z A-Z; echo hello | tr -d l; echo 'a  b   c' | tr -s ' '; echo abc | tr -c 'a\\n' x; echo AbC | tr '[:upper:]' '[:lower:]'",
			out: "HELLO\nheo\na b c\naxx\nabc\n"},
		{name: "tr newline", script: "printf 'a\\nb\\n' | tr '\\n' ,", out: "a,b,"},
		{name: "sort", files: lines, script: "sort /d/f", out: "Banana 10\napple 1\napple 3\ncherry 2\n"},
		{name: "sort -n -k -r", files: lines, script: "sort -k2 -n /d/f; sort -k2,2nr /d/f | head -1", out: "apple 1\ncherry 2\napple 3\nBanana 10\nBanana 10\n"},
		{name: "sort -t -u -f", script: "printf 'b:2\\na:1\\nb:3\\n' | sort -t: -k1,1 -u; printf 'b\\nA\\na\\n' | sort -f", out: "a:1\nb:2\nA\na\nb\n"},
		{name: "sort -V", script: "printf '1.30.10\\n1.29.9\\n1.30.2\\n1.4\\n' | sort -V", out: "1.4\n1.29.9\n1.30.2\n1.30.10\n"},
		{name: "sort -h", script: "printf '2G\\n10K\\n1M\\n' | sort -h", out: "10K\n1M\n2G\n"},
		{name: "sort -c", script: "printf 'a\\nb\\n' | sort -c && printf 'b\\na\\n' | sort -c", code: 1, errHas: "disorder"},
		{name: "sort -o", script: "printf 'b\\na\\n' | sort -o /tmp/s; cat /tmp/s", out: "a\nb\n"},
	})
}

func TestDiffCmpHashes(t *testing.T) {
	files := map[string]string{"/a": "one\ntwo\nthree\nfour\n", "/b": "one\n2\nthree\nfour\nfive\n", "/c": "one\ntwo\nthree\nfour\n"}
	runTable(t, []tcase{
		{name: "diff same", files: files, script: "diff /a /c", out: ""},
		{name: "diff normal", files: files, script: "diff /a /b", code: 1, out: "2c2\n< two\n---\n> 2\n4a5\n> five\n"},
		{name: "diff -u", files: files, script: "diff -u --label a --label b /a /b", code: 1,
			out: "--- a\n+++ b\n@@ -1,4 +1,5 @@\n one\n-two\n+2\n three\n four\n+five\n"},
		{name: "diff -U0", files: files, script: "diff -U0 --label a --label b /a /b", code: 1, out: "--- a\n+++ b\n@@ -2 +2 @@\n-two\n+2\n@@ -4,0 +5 @@\n+five\n"},
		{name: "diff -q", files: files, script: "diff -q /a /b", code: 1, out: "Files /a and /b differ\n"},
		{name: "diff stdin and missing newline", files: files, script: "printf 'one\\ntwo\\nthree\\nfour' | diff -u --label a --label b /a -", code: 1,
			out: "--- a\n+++ b\n@@ -1,4 +1,4 @@\n one\n two\n three\n-four\n+four\n\\ No newline at end of file\n"},
		{name: "diff deletions", script: "printf 'a\\nb\\nc\\n' > /x; printf 'a\\n' > /y; diff /x /y", code: 1, out: "2,3d1\n< b\n< c\n"},
		{name: "diff -w", script: "printf 'a  b\\n' > /x; printf 'a b\\n' > /y; diff -w /x /y && diff -b /x /y && echo same", out: "same\n"},
		{name: "diff missing", files: files, script: "diff /a /nope", code: 2, errHas: "No such file"},
		{name: "cmp", files: files, script: "cmp /a /c && echo same; cmp /a /b; cmp -s /a /b; echo $?", out: "same\n/a /b differ: byte 5, line 2\n1\n"},
		{name: "sha256sum", script: "printf abc > /x; sha256sum /x; printf abc | sha256sum", out: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  /x\nba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  -\n"},
		{name: "sha256sum -c", script: "printf abc > /x; sha256sum /x > /sums; sha256sum -c /sums; printf abd > /x; sha256sum -c /sums", code: 1,
			out: "/x: OK\n/x: FAILED\n", errHas: "WARNING: 1 computed checksum did NOT match"},
		{name: "md5sum", script: "printf abc | md5sum", out: "900150983cd24fb0d6963f7d28e17f72  -\n"},
		{name: "base64", script: "printf 'hello' | base64; echo aGVsbG8= | base64 -d; echo; head -c 60 /dev/zero | base64 -w 40", out: "aGVsbG8=\nhello\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"},
		{name: "base64 bad input", script: "echo '!!!' | base64 -d", code: 1, errHas: "invalid input"},
		{name: "gzip round trip", script: "echo data > /x; gzip /x; test -e /x || echo gone; gunzip /x.gz; cat /x; echo z | gzip | zcat; gzip -k /x; ls /x*", out: "gone\ndata\nz\n/x\n/x.gz\n"},
		{name: "gunzip bad", script: "echo plain > /x.gz; gunzip /x.gz", code: 1, errHas: "not in gzip format"},
	})
}

func TestTar(t *testing.T) {
	files := map[string]string{"/etc/crio/crio.conf": "[crio]\n", "/etc/crio/crio.conf.d/10-crio.conf": "x=1\n"}
	runTable(t, []tcase{
		{name: "czf and tzf", files: files, script: "tar czf /tmp/b.tgz -C / etc/crio && tar tzf /tmp/b.tgz", out: "etc/crio/\netc/crio/crio.conf\netc/crio/crio.conf.d/\netc/crio/crio.conf.d/10-crio.conf\n"},
		{name: "absolute members", files: files, script: "tar -czf /tmp/b.tgz /etc/crio/crio.conf && tar -tzf /tmp/b.tgz", out: "etc/crio/crio.conf\n", errHas: "Removing leading"},
		{name: "restore", files: files, script: "tar czf /tmp/b.tgz -C / etc/crio && rm -rf /etc/crio && tar xzf /tmp/b.tgz -C / && cat /etc/crio/crio.conf.d/10-crio.conf", out: "x=1\n"},
		{name: "stdout and stdin", files: files, script: "tar cf - -C /etc crio | tar tf - | head -1", out: "crio/\n"},
		{name: "compression detected", files: files, script: "tar czf /tmp/b.tgz -C /etc crio; tar tf /tmp/b.tgz | wc -l", out: "4\n"},
		{name: "modes and links kept", script: "mkdir /s; echo x > /s/f; chmod 700 /s/f; ln -s f /s/l; tar czf /t.tgz -C / s; rm -rf /s; tar xzf /t.tgz -C /; stat -c %a /s/f; readlink /s/l", out: "700\nf\n"},
		{name: "-O and strip", files: files, script: "tar czf /t.tgz -C / etc/crio; tar xzf /t.tgz -O etc/crio/crio.conf; mkdir /o; tar xzf /t.tgz -C /o --strip-components=2; ls /o", out: "[crio]\ncrio.conf\ncrio.conf.d\n"},
		{name: "-tv", files: files, script: "tar czf /t.tgz -C / etc/crio/crio.conf; tar tvzf /t.tgz | cut -d' ' -f1,2", out: "-rw-r--r-- root/root\n"},
		{name: "exclude", files: files, script: "tar czf /t.tgz --exclude='*.d' -C / etc/crio; tar tzf /t.tgz", out: "etc/crio/\netc/crio/crio.conf\n"},
		{name: "missing archive", script: "tar xzf /nope.tgz", code: 2, errHas: "Cannot open"},
		{name: "no mode", script: "tar f x", code: 2, errHas: "You must specify one of"},
		{name: "empty create", script: "tar czf /t.tgz", code: 2, errHas: "Cowardly"},
		{name: "not a gzip", script: "echo x > /t.tgz; tar xzf /t.tgz", code: 2, errHas: "gzip"},
	})
}

func TestJq(t *testing.T) {
	doc := map[string]string{"/d.json": `{"items":[{"name":"a","v":1},{"name":"b","v":2}],"s":"str","t":true}`}
	runTable(t, []tcase{
		{name: "pretty", script: `echo '{"a":[1,{"b":null}]}' | jq .`, out: "{\n  \"a\": [\n    1,\n    {\n      \"b\": null\n    }\n  ]\n}\n"},
		{name: "-r and paths", files: doc, script: "jq -r '.items[].name, .s' /d.json", out: "a\nb\nstr\n"},
		{name: "-c and map", files: doc, script: "jq -c '[.items[] | select(.v > 1)]' /d.json", out: "[{\"name\":\"b\",\"v\":2}]\n"},
		{name: "-e", files: doc, script: "jq -e .t /d.json >/dev/null && echo yes; jq -e .missing /d.json; echo $?", out: "yes\nnull\n1\n"},
		// gojq prints object keys sorted (jq keeps insertion order).
		{name: "--arg --argjson", script: `jq -n -c --arg x hi --argjson n 3 '{x:$x, n:($n+1)}'`, out: "{\"n\":4,\"x\":\"hi\"}\n"},
		{name: "-s", script: "printf '1 2 3' | jq -s add", out: "6\n"},
		{name: "-R", script: "printf 'a\\nb\\n' | jq -R . ; printf 'a\\nb\\n' | jq -Rs .", out: "\"a\"\n\"b\"\n\"a\\nb\\n\"\n"},
		{name: "-j", script: `jq -nj '"a","b"'`, out: "ab"},
		{name: "env", script: `FOO=bar jq -n -r 'env.FOO, $ENV.HOME'`, out: "bar\n/root\n"},
		{name: "large numbers kept", script: `echo '{"n":12345678901234567890}' | jq .n`, out: "12345678901234567890\n"},
		{name: "compile error", script: "jq '.['", code: 3, errHas: "compile error"},
		{name: "runtime error", script: `echo '"x"' | jq '.a'`, code: 5, errHas: "error"},
		{name: "bad json", script: "echo '{' | jq .", code: 2, errHas: "Cannot parse"},
		{name: "missing file", script: "jq . /nope", code: 2, errHas: "No such file"},
		{name: "halt_error", script: `jq -n '"stop\n" | halt_error(3)'`, code: 3, errHas: "stop"},
	})
}

func TestMiscUtilities(t *testing.T) {
	runTable(t, []tcase{
		{name: "hostname uname", script: "hostname; hostname -s; uname; uname -s -n -m; uname -r", out: "node-1\nnode-1\nLinux\nLinux node-1 x86_64\n5.15.0-91-generic\n"},
		{name: "uname from the node", files: map[string]string{"/proc/sys/kernel/osrelease": "6.5.0-lab\n"}, script: "uname -r", out: "6.5.0-lab\n"},
		{name: "id whoami nproc", script: "id; id -u; id -un; id -g; id ubuntu; whoami; nproc", out: "uid=0(root) gid=0(root) groups=0(root)\n0\nroot\n0\nuid=1000(ubuntu) gid=1000(ubuntu) groups=1000(ubuntu)\nroot\n2\n"},
		{name: "id unknown", script: "id ghost", code: 1, errHas: "no such user"},
		{name: "date", script: "date -u -d @0 '+%Y-%m-%d %H:%M:%S %s %j %a %b'; date -u -d '2024-02-29T10:00:00Z' +%F_%T; date -u -d @86400 -I", out: "1970-01-01 00:00:00 0 001 Thu Jan\n2024-02-29_10:00:00\n1970-01-02\n"},
		{name: "date formats", script: "date -u -d @1.0625 '+%N %3N %-N|%-d|%e|%_m|%:z|%P|%%N|%G-W%V'", out: "062500000 062 62500000|1| 1| 1|+00:00|am|%N|1970-W01\n"},
		{name: "date bad", script: "date -d 'not a date'", code: 1, errHas: "invalid date"},
		{name: "sleep", script: "sleep 0.01 0.01 && echo slept; sleep x", code: 2, out: "slept\n", errHas: "invalid time interval"},
		{name: "xargs", script: "printf 'a b\\nc\\n' | xargs echo X; printf 'a\\nb\\n' | xargs -n1 echo Y; printf 'p q\\n' | xargs -I{} echo '<{}>'; printf 'a\\0b\\0' | xargs -0 echo",
			out: "X a b c\nY a\nY b\n<p q>\na b\n"},
		{name: "xargs failing command", script: "echo x | xargs false; echo $?; echo x | xargs nope; echo $?", out: "123\n127\n", errHas: "not simulated"},
		{name: "xargs -r", script: "printf '' | xargs -r echo never; printf '' | xargs echo empty", out: "empty\n"},
		{name: "xargs quotes", script: `echo "'a b' \"c d\" e\\ f" | xargs printf '[%s]'`, out: "[a b][c d][e f]"},
	})
}

// editScript's ops rebuild both texts, every line of each once and in
// order, with each change's removals before its additions.
func TestEditScriptRebuildsBothTexts(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	gen := func() []string {
		var lines []string
		for range rng.IntN(30) {
			lines = append(lines, string(rune('a'+rng.IntN(5))))
		}
		return lines
	}
	for i := range 500 {
		a, b := gen(), gen()
		var ga, gb []string
		ops := editScript(a, b)
		for j, op := range ops {
			if op.kind != ' ' && op.kind != '-' && op.kind != '+' {
				t.Fatalf("case %d: op %q", i, op.kind)
			}
			if op.kind != '+' {
				if op.a != len(ga) {
					t.Fatalf("case %d: op %d takes line %d of a, want %d", i, j, op.a, len(ga))
				}
				ga = append(ga, a[op.a])
			}
			if op.kind != '-' {
				if op.b != len(gb) {
					t.Fatalf("case %d: op %d takes line %d of b, want %d", i, j, op.b, len(gb))
				}
				gb = append(gb, b[op.b])
			}
			if op.kind == ' ' && a[op.a] != b[op.b] {
				t.Fatalf("case %d: op %d keeps %q as %q", i, j, a[op.a], b[op.b])
			}
			if j > 0 && op.kind == '-' && ops[j-1].kind == '+' {
				t.Fatalf("case %d: a removal after an addition at op %d", i, j)
			}
		}
		if !slices.Equal(ga, a) || !slices.Equal(gb, b) {
			t.Fatalf("case %d: rebuilt %q -> %q from %q -> %q", i, ga, gb, a, b)
		}
	}
}
