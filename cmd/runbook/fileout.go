package main

import (
	"os"
	"path/filepath"
)

// fileOut writes a file through a temporary file renamed into place, so a
// failed write leaves no half file.
type fileOut struct {
	*os.File
	path string
}

func createOut(path string) (*fileOut, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, err
	}
	return &fileOut{File: f, path: path}, nil
}

func (f *fileOut) commit() error {
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Rename(f.Name(), f.path); err != nil {
		os.Remove(f.Name())
		return err
	}
	return nil
}
