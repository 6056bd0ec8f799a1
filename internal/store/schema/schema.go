// Package schema says whether a database is one this twofold can use as it
// is: the commands that only read or change accounts (user, outbox, bench)
// open a database without migrating it, and refuse one that is missing or
// at another schema version, so that a mistyped --data-dir creates nothing
// and a newer binary never upgrades a database older instances still use.
// Only serve and migrate apply migrations.
package schema

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// ErrNoDatabase: there is no twofold database there (no file, or one with
// no migrations applied).
var ErrNoDatabase = errors.New("no twofold database")

// VersionError is a database at another schema version than the binary's.
type VersionError struct {
	Have, Want int64
}

func (e *VersionError) Error() string {
	if e.Have > e.Want {
		return fmt.Sprintf("database schema is version %d, this twofold needs %d: it was upgraded by a newer twofold; use that version", e.Have, e.Want)
	}
	return fmt.Sprintf("database schema is version %d, this twofold needs %d: run `twofold migrate`", e.Have, e.Want)
}

// Latest is the highest version among the migrations in dir of fsys
// (files named NNNNN_name.sql, as goose names them).
func Latest(fsys fs.FS, dir string) (int64, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return 0, fmt.Errorf("schema: migrations: %w", err)
	}
	var latest int64
	for _, e := range entries {
		name := path.Base(e.Name())
		prefix, _, ok := strings.Cut(name, "_")
		if !ok || !strings.HasSuffix(name, ".sql") {
			continue
		}
		v, err := strconv.ParseInt(prefix, 10, 64)
		if err != nil {
			continue
		}
		latest = max(latest, v)
	}
	if latest == 0 {
		return 0, errors.New("schema: no migrations embedded")
	}
	return latest, nil
}

// Check compares the database's version with the binary's: nil when they
// are equal, ErrNoDatabase for 0 (nothing applied), a *VersionError else.
func Check(have, want int64) error {
	switch {
	case have == 0:
		return ErrNoDatabase
	case have != want:
		return &VersionError{Have: have, Want: want}
	}
	return nil
}

// VersionTable is where goose records the migrations applied.
const VersionTable = "goose_db_version"
