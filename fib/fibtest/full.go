package fibtest

import "errors"

// A FullDisk accepts Room bytes, then fails every write, as a full disk
// does.
type FullDisk struct{ Room int }

func (w *FullDisk) Write(p []byte) (int, error) {
	if len(p) > w.Room {
		n := w.Room
		w.Room = 0
		return n, errors.New("no space left on device")
	}
	w.Room -= len(p)
	return len(p), nil
}
