package sqlite

import "errors"

// also returns err, joined with the error of a cleanup step (closing
// rows, rolling back, closing a database) when that step failed; err
// itself, unwrapped, when it did not.
func also(err, cleanup error) error {
	if cleanup == nil {
		return err
	}
	return errors.Join(err, cleanup)
}
