package sqlite

import (
	"context"
	"fmt"
)

// BackupTo writes a consistent copy of the database to path, a file that
// must not exist yet, with VACUUM INTO: it reads one snapshot, so a server
// may go on taking sign-ins (and writing) while it runs, and the copy is
// compacted and has no -wal file to carry along.
func (s *Store) BackupTo(ctx context.Context, path string) error {
	if _, err := s.write.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		return fmt.Errorf("sqlite: back up to %s: %w", path, err)
	}
	return nil
}
