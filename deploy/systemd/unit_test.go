package systemd_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/troupe-go/troupe/deploy/systemd"
)

// unit is a parsed unit file: section -> key -> values in order (a key may
// be given more than once, as SystemCallFilter is).
type unit map[string]map[string][]string

// parseUnit reads the unit file syntax of systemd.syntax(7): [Section]
// headers, Key=Value lines, comments starting with # or ;, and lines
// continued with a trailing backslash.
func parseUnit(data []byte) (unit, error) {
	u := unit{}
	var section string
	sc := bufio.NewScanner(bytes.NewReader(data))
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		for strings.HasSuffix(line, `\`) && sc.Scan() {
			lineNo++
			line = strings.TrimSpace(strings.TrimSuffix(line, `\`)) + " " + strings.TrimSpace(sc.Text())
		}
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
			continue
		case line[0] == '[':
			if !strings.HasSuffix(line, "]") {
				return nil, fmt.Errorf("line %d: bad section header %q", lineNo, line)
			}
			section = line[1 : len(line)-1]
			if u[section] == nil {
				u[section] = map[string][]string{}
			}
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok || section == "" {
			return nil, fmt.Errorf("line %d: not a key=value in a section: %q", lineNo, line)
		}
		key = strings.TrimSpace(key)
		u[section][key] = append(u[section][key], strings.TrimSpace(value))
	}
	return u, sc.Err()
}

func TestParseUnit(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr bool
	}{
		{"ok", "[A]\nK=v\n# c\n; c\nK=w \\\n  x\n", false},
		{"key outside section", "K=v\n", true},
		{"not key value", "[A]\nnonsense\n", true},
		{"bad header", "[A\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := parseUnit([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err == nil {
				if got, want := strings.Join(u["A"]["K"], "|"), "v|w x"; got != want {
					t.Errorf("values = %q, want %q", got, want)
				}
			}
		})
	}
}

func TestUnitHardening(t *testing.T) {
	u, err := parseUnit(systemd.Unit)
	if err != nil {
		t.Fatal(err)
	}
	// Each directive must be present with exactly this value (the last one
	// given, which is the one systemd uses for a single-valued setting).
	exact := []struct{ section, key, want string }{
		{"Unit", "StartLimitIntervalSec", "5min"},
		{"Unit", "StartLimitBurst", "5"},
		{"Unit", "After", "network-online.target"},
		{"Service", "Type", "notify"},
		{"Service", "NotifyAccess", "main"},
		{"Service", "ExecStart", "/usr/local/bin/troupe run /etc/troupe/troupe.yaml --data /var/lib/troupe"},
		{"Service", "Restart", "on-failure"},
		{"Service", "RestartSec", "2s"},
		{"Service", "KillSignal", "SIGTERM"},
		{"Service", "KillMode", "mixed"},
		{"Service", "DynamicUser", "yes"},
		{"Service", "StateDirectory", "troupe"},
		{"Service", "UMask", "0077"},
		{"Service", "ProtectSystem", "strict"},
		{"Service", "ProtectHome", "yes"},
		{"Service", "PrivateTmp", "yes"},
		{"Service", "PrivateDevices", "yes"},
		{"Service", "PrivateUsers", "yes"},
		{"Service", "ProtectKernelTunables", "yes"},
		{"Service", "ProtectKernelModules", "yes"},
		{"Service", "ProtectKernelLogs", "yes"},
		{"Service", "ProtectControlGroups", "yes"},
		{"Service", "ProtectClock", "yes"},
		{"Service", "ProtectHostname", "yes"},
		{"Service", "LockPersonality", "yes"},
		{"Service", "MemoryDenyWriteExecute", "yes"},
		{"Service", "NoNewPrivileges", "yes"},
		{"Service", "RestrictNamespaces", "yes"},
		{"Service", "RestrictRealtime", "yes"},
		{"Service", "RestrictSUIDSGID", "yes"},
		{"Service", "RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"},
		{"Service", "SystemCallArchitectures", "native"},
		{"Service", "CapabilityBoundingSet", ""},
		{"Service", "AmbientCapabilities", ""},
		{"Install", "WantedBy", "multi-user.target"},
	}
	for _, d := range exact {
		t.Run(d.key, func(t *testing.T) {
			vs, ok := u[d.section][d.key]
			if !ok {
				t.Fatalf("[%s] %s is missing", d.section, d.key)
			}
			if got := vs[len(vs)-1]; got != d.want {
				t.Errorf("[%s] %s = %q, want %q", d.section, d.key, got, d.want)
			}
		})
	}
	t.Run("SystemCallFilter", func(t *testing.T) {
		got := u["Service"]["SystemCallFilter"]
		if len(got) == 0 || got[0] != "@system-service" {
			t.Errorf("SystemCallFilter = %q, want @system-service first", got)
		}
	})
	t.Run("LimitNOFILE", func(t *testing.T) {
		vs := u["Service"]["LimitNOFILE"]
		if len(vs) == 0 {
			t.Fatal("LimitNOFILE is missing")
		}
		n, err := strconv.Atoi(vs[len(vs)-1])
		if err != nil || n < 16384 {
			t.Errorf("LimitNOFILE = %q, want a number above 10,000 connections plus headroom (>= 16384)", vs)
		}
	})
	// Settings that would undo the sandbox must not be there.
	for _, key := range []string{"User", "Group", "PermissionsStartOnly", "PrivateNetwork", "ReadWritePaths"} {
		t.Run("no "+key, func(t *testing.T) {
			if vs, ok := u["Service"][key]; ok {
				t.Errorf("[Service] %s = %q, want it absent", key, vs)
			}
		})
	}
}

// TestSystemdAnalyze runs systemd's own checks when systemd-analyze is
// installed: verify must report nothing, and the security exposure must stay
// low. ExecStart points at this test binary, which exists, so that verify
// does not complain about the absent /usr/local/bin/troupe.
func TestSystemdAnalyze(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(systemd.Unit), "ExecStart=/usr/local/bin/troupe ", "ExecStart="+self+" ", 1)
	path := filepath.Join(t.TempDir(), "troupe.service")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", "--man=no", path).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	// --offline and --threshold appeared in systemd 250; older versions
	// reject them, and then only verify counts.
	help, _ := exec.Command(analyze, "--help").CombinedOutput()
	if !bytes.Contains(help, []byte("--offline")) || !bytes.Contains(help, []byte("--threshold")) {
		return
	}
	out, err = exec.Command(analyze, "security", "--offline=true", "--threshold=20", "--no-pager", path).CombinedOutput()
	if err != nil {
		t.Errorf("systemd-analyze security: exposure above 2.0 or failure: %v\n%s", err, out)
	}
}
