package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/twofold/twofold/internal/config"
	"github.com/twofold/twofold/internal/keyring"
	"github.com/twofold/twofold/internal/store/sqlite"
)

// backup copies the SQLite database to FILE while the server may go on
// serving. The copy is written beside FILE in a private directory, checked
// with PRAGMA integrity_check, made readable by its owner only and only
// then moved to FILE, so FILE is either a whole, checked backup or absent.
func backup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	positional, args := splitPositional(args)
	cfg, err := config.Load("backup", args, getenv, stderr)
	if err != nil {
		return err
	}
	if len(positional) != 1 {
		return errors.New("want one FILE to write the backup to")
	}
	target := positional[0]
	if cfg.UsesPostgres() {
		return errors.New("twofold backup copies a SQLite database; back up PostgreSQL with pg_dump (docs/operations.md)")
	}
	if _, err := os.Lstat(target); err == nil {
		return fmt.Errorf("%s already exists: choose a new file name, so no earlier backup is overwritten", target)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	st, err := openStore(ctx, cfg, useExisting)
	if err != nil {
		return err
	}
	defer st.Close()
	db, ok := st.(*sqlite.Store)
	if !ok {
		return errors.New("this store cannot be backed up with twofold backup")
	}

	dir, err := os.MkdirTemp(filepath.Dir(target), ".twofold-backup-")
	if err != nil {
		return fmt.Errorf("make a place for the backup beside %s: %w", target, err)
	}
	defer os.RemoveAll(dir)
	tmp := filepath.Join(dir, "twofold.db")
	if err := db.BackupTo(ctx, tmp); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return err
	}
	if err := checkBackup(ctx, tmp); err != nil {
		return err
	}
	if err := placeNew(tmp, target); err != nil {
		return fmt.Errorf("move the backup to %s: %w", target, err)
	}
	info, err := os.Stat(target)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up %s to %s (%d bytes, integrity ok)\n", cfg.DatabaseForDisplay(), target, info.Size())
	keyNote := "the server key is not in it: keep a copy of " + filepath.Join(cfg.DataDir, keyring.FileName) + " as well"
	if cfg.SecretKey != "" {
		keyNote = "the server key is not in it: keep TWOFOLD_SECRET_KEY as well"
	}
	fmt.Fprintf(stdout, "%s (without it no TOTP secret or backup code in the backup can be checked)\n", keyNote)
	return nil
}

// checkBackup opens the copy as a twofold database of this version and
// runs SQLite's integrity check on it.
func checkBackup(ctx context.Context, path string) error {
	st, err := sqlite.OpenExisting(ctx, path)
	if err != nil {
		return fmt.Errorf("check the backup: %w", err)
	}
	defer st.Close()
	verdict, err := st.IntegrityCheck(ctx)
	if err != nil {
		return fmt.Errorf("check the backup: %w", err)
	}
	if verdict != "ok" {
		return fmt.Errorf("the backup failed its integrity check: %s", verdict)
	}
	return nil
}

// placeNew puts the file at from at to, which must not exist: nothing is
// ever overwritten. A hard link does it at once; where the filesystem has
// none (FAT, many network shares) the file is copied into a file created
// exclusively, and synced.
func placeNew(from, to string) error {
	err := os.Link(from, to)
	if err == nil || errors.Is(err, fs.ErrExist) {
		return err
	}
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		os.Remove(to)
		return err
	}
	if err := dst.Sync(); err != nil {
		dst.Close()
		os.Remove(to)
		return err
	}
	return dst.Close()
}
