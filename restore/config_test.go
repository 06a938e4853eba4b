package restore

import (
	"errors"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	ok := Config{DataDir: "/data/pg", Engine: Postgres, From: "/backups", UID: -1, GID: -1}
	tests := []struct {
		name   string
		change func(*Config)
		bad    bool
	}{
		{"built-in source", func(c *Config) {}, false},
		{"disabled", func(c *Config) { *c = Config{} }, false},
		{"scripted source", func(c *Config) { c.From, c.Cmd = "", "restore.sh" }, false},
		{"no source", func(c *Config) { c.From = "" }, false},
		{"auto engine", func(c *Config) { c.Engine = "" }, false},
		{"named backup", func(c *Config) { c.Backup = "20250101T000000Z-postgres" }, false},
		{"before", func(c *Config) { c.Before = time.Now() }, false},
		{"source without data dir", func(c *Config) { c.DataDir = "" }, true},
		{"required without data dir", func(c *Config) { *c = Config{Required: true} }, true},
		{"relative data dir", func(c *Config) { c.DataDir = "data" }, true},
		{"root data dir", func(c *Config) { c.DataDir = "/" }, true},
		{"unknown engine", func(c *Config) { c.Engine = "oracle" }, true},
		{"two sources", func(c *Config) { c.Cmd = "x" }, true},
		{"named backup without catalog", func(c *Config) { c.From, c.Backup = "", "x" }, true},
		{"named and before", func(c *Config) { c.Backup, c.Before = "x", time.Now() }, true},
		{"named with script", func(c *Config) { c.From, c.Cmd, c.Backup = "", "x", "x" }, true},
		{"backup name is a path", func(c *Config) { c.Backup = "../x" }, true},
		{"negative timeout", func(c *Config) { c.From, c.Cmd, c.CmdTimeout = "", "x", -time.Second }, true},
		{"required without source", func(c *Config) { c.From, c.Required = "", true }, true},
		{"bad uid", func(c *Config) { c.UID = -2 }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.change(&c)
			err := c.Validate()
			if tt.bad != (err != nil) {
				t.Fatalf("Validate() = %v, want error: %v", err, tt.bad)
			}
			if err != nil && !errors.Is(err, ErrRefused) {
				t.Fatalf("error %v does not wrap ErrRefused", err)
			}
		})
	}
}

func TestBackupConfigValidate(t *testing.T) {
	ok := BackupConfig{Engine: MySQL, To: "/backups", Keep: 3, UID: -1, GID: -1}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, change := range map[string]func(*BackupConfig){
		"engine auto":   func(c *BackupConfig) { c.Engine = Auto },
		"relative to":   func(c *BackupConfig) { c.To = "backups" },
		"no to":         func(c *BackupConfig) { c.To = "" },
		"negative keep": func(c *BackupConfig) { c.Keep = -1 },
		"bad port":      func(c *BackupConfig) { c.Conn.Port = 70000 },
	} {
		c := ok
		change(&c)
		if err := c.Validate(); !errors.Is(err, ErrRefused) {
			t.Errorf("%s: Validate() = %v, want ErrRefused", name, err)
		}
	}
}
