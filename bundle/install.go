package bundle

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/kubeiam/kubeiam/internal/fsafe"
)

// InstallOptions say where and how a selected asset is installed.
type InstallOptions struct {
	BinDir   string   // created if missing
	Force    bool     // download and replace even when the installed binary is the same
	StateDir string   // install records (which archive a binary came from); empty: <user cache>/kubeiam/bundle
	Progress Progress // nil: downloads are not reported
	// SkipVersion leaves the installed binary unrun; it is not run anyway
	// when built for another platform than this one.
	SkipVersion bool
}

// InstallResult says what Install did.
type InstallResult struct {
	Path    string
	Skipped bool   // an identical binary was already there: nothing downloaded
	Bytes   int64  // downloaded
	SHA256  string // of the installed binary
	Version string // output of `<binary> version`, trimmed
	// VersionErr is why the version could not be shown; the binary is
	// installed and verified all the same.
	VersionErr error
}

// ChecksumError is a download whose digest differs from the manifest's.
type ChecksumError struct {
	URL, Algo, Want, Got string
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("%s mismatch for %s: manifest says %s, download is %s", e.Algo, e.URL, e.Want, e.Got)
}

// Hint says what a mismatch usually means.
func (e *ChecksumError) Hint() string {
	return "nothing was installed; the file changed since the manifest was published, or a proxy or mirror serves something else"
}

// UnsafeArchiveError is a tarball entry that extraction refuses.
type UnsafeArchiveError struct {
	Entry, Reason string
}

func (e *UnsafeArchiveError) Error() string {
	return fmt.Sprintf("refusing archive: entry %q is %s", e.Entry, e.Reason)
}

// Install downloads the selected asset, verifies its SHA-256 and SHA-512
// while streaming, unpacks the binary (from a tarball or as the bare file)
// and puts it in place atomically with mode 0755. On any failure the
// previous binary is untouched and no temporary file is left.
func Install(ctx context.Context, f *Fetcher, sel *Selection, opts InstallOptions) (*InstallResult, error) {
	a := sel.Asset.Archive
	if a == nil || a.URI == "" {
		return nil, fmt.Errorf("asset %s has no archive URI", sel.Asset.Name)
	}
	if err := checkDigest("sha256", a.SHA256, sha256.Size); err != nil {
		return nil, err
	}
	if err := checkDigest("sha512", a.SHA512, sha512.Size); err != nil {
		return nil, err
	}
	if opts.BinDir == "" {
		return nil, errors.New("no bin directory given")
	}
	if err := os.MkdirAll(opts.BinDir, 0o755); err != nil {
		return nil, fmt.Errorf("could not create bin directory: %w", err)
	}
	dest := filepath.Join(opts.BinDir, sel.Binary())
	res := &InstallResult{Path: dest}
	rec := recordPath(opts.StateDir, dest)

	if !opts.Force {
		if sum, ok := alreadyInstalled(dest, sel, rec); ok {
			res.Skipped, res.SHA256 = true, sum
			runVersion(ctx, sel, res, opts)
			return res, nil
		}
	}

	// Each attempt streams into its own temporary file beside dest (mode
	// 0755 before the first byte, synced); only a verified download is
	// renamed into place, and the directory synced after.
	var tmpName string
	err := f.retry(ctx, func() error {
		tmp, err := fsafe.Stage(dest, 0o755, func(w io.Writer) (err error) {
			res.Bytes, res.SHA256, err = download(ctx, f, sel, w, opts.Progress)
			return err
		})
		tmpName = tmp
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := fsafe.Commit(tmpName, dest); err != nil {
		return nil, err
	}
	// The record only lets the next run skip the download; failing to write
	// it costs a download, not correctness.
	_ = writeRecord(rec, installRecord{Path: dest, ArchiveSHA256: a.SHA256, ArchiveSHA512: a.SHA512, BinarySHA256: res.SHA256})
	runVersion(ctx, sel, res, opts)
	return res, nil
}

func checkDigest(algo, hexsum string, size int) error {
	if hexsum == "" {
		return fmt.Errorf("the manifest gives no %s for this asset: refusing to install an unverifiable download", algo)
	}
	if b, err := hex.DecodeString(hexsum); err != nil || len(b) != size {
		return fmt.Errorf("the manifest's %s %q is not a %d-byte hex digest", algo, hexsum, size)
	}
	return nil
}

// download streams the asset into tmp once: the archive bytes feed both
// digests and, for a tarball, the unpacker, so nothing is stored twice and
// memory stays flat whatever the size. It returns the bytes read and the
// SHA-256 of the binary written.
func download(ctx context.Context, f *Fetcher, sel *Selection, tmp io.Writer, progress Progress) (int64, string, error) {
	a := sel.Asset.Archive
	d, err := f.open(ctx, a.URI)
	if err != nil {
		return 0, "", err
	}
	defer d.Close()

	h256, h512 := sha256.New(), sha512.New()
	sinks := []io.Writer{h256, h512}
	var bar ProgressBar
	if progress != nil {
		bar = progress.Start(sel.Asset.Name, d.Loc, d.Size)
		sinks = append(sinks, bar)
	}

	var (
		pw      *io.PipeWriter
		unpackc chan unpacked
	)
	if sel.Tarball() {
		var pr *io.PipeReader
		pr, pw = io.Pipe()
		unpackc = make(chan unpacked, 1)
		go func() {
			// Big reads: gzip would otherwise pull 4 KiB at a time through the pipe.
			sum, err := unpackBinary(bufio.NewReaderSize(pr, chunkSize), sel.Binary(), tmp)
			// Unblock the pump on failure; on success the rest was drained.
			pr.CloseWithError(err)
			unpackc <- unpacked{sum, err}
		}()
		sinks = append(sinks, pw)
	} else {
		sinks = append(sinks, tmp)
	}

	n, err := pump(d, sinks...)
	var unpackErr error
	binSum := ""
	if pw != nil {
		pw.CloseWithError(err)
		u := <-unpackc
		binSum, unpackErr = u.sum, u.err
	}
	if bar != nil {
		bar.Finish(err == nil && unpackErr == nil)
	}
	if err != nil {
		// A refused archive stops the pump through the pipe: report the
		// refusal, not the closed pipe it caused.
		if unpackErr != nil && isUnpackErr(unpackErr) {
			return n, "", fmt.Errorf("could not unpack %s: %w", d.Loc, unpackErr)
		}
		return n, "", fmt.Errorf("could not download %s: %w", d.Loc, err)
	}
	if d.Size >= 0 && n != d.Size {
		return n, "", &retryable{fmt.Errorf("could not download %s: truncated at %d of %d bytes", d.Loc, n, d.Size)}
	}
	if got := hex.EncodeToString(h256.Sum(nil)); !strings.EqualFold(got, a.SHA256) {
		return n, "", &ChecksumError{URL: d.Loc, Algo: "sha256", Want: a.SHA256, Got: got}
	}
	if got := hex.EncodeToString(h512.Sum(nil)); !strings.EqualFold(got, a.SHA512) {
		return n, "", &ChecksumError{URL: d.Loc, Algo: "sha512", Want: a.SHA512, Got: got}
	}
	if unpackErr != nil {
		return n, "", fmt.Errorf("could not unpack %s: %w", d.Loc, unpackErr)
	}
	if binSum == "" {
		binSum = strings.ToLower(a.SHA256) // a bare binary is the archive
	}
	return n, binSum, nil
}

type unpacked struct {
	sum string
	err error
}

func isUnpackErr(err error) bool {
	var u *UnsafeArchiveError
	return errors.As(err, &u) || errors.Is(err, errNoBinary) || errors.Is(err, gzip.ErrHeader) || errors.Is(err, tar.ErrHeader)
}

var errNoBinary = errors.New("binary not found in archive")

// unpackBinary reads a gzipped tarball laid out as EKS-D publishes them
// (./aws-iam-authenticator, ./ATTRIBUTION.txt, ./LICENSES/...) and writes the
// entry named binary to out. Every entry is checked, not just the one
// written: an archive carrying an absolute path, a "..", a link or a device
// is refused whole, since it was not made by the publisher's pipeline.
func unpackBinary(r io.Reader, binary string, out io.Writer) (string, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return "", fmt.Errorf("not a gzip archive: %w", err)
	}
	tr := tar.NewReader(zr)
	sum := ""
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", fmt.Errorf("could not read tar: %w", err)
		}
		name, err := checkEntry(hdr)
		if err != nil {
			return "", err
		}
		if hdr.Typeflag != tar.TypeReg || path.Base(name) != binary {
			continue
		}
		if sum != "" {
			return "", &UnsafeArchiveError{Entry: hdr.Name, Reason: "a second copy of " + binary}
		}
		h := sha256.New()
		if _, err := io.Copy(io.MultiWriter(out, h), tr); err != nil {
			return "", err
		}
		sum = hex.EncodeToString(h.Sum(nil))
	}
	// Read the gzip trailer (its CRC) and whatever follows, so the digests
	// cover every byte that was downloaded.
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return "", fmt.Errorf("could not read gzip stream: %w", err)
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		return "", err
	}
	if sum == "" {
		return "", fmt.Errorf("%w: no %s entry", errNoBinary, binary)
	}
	return sum, nil
}

// checkEntry returns the cleaned name of a safe entry.
func checkEntry(hdr *tar.Header) (string, error) {
	n := hdr.Name
	switch hdr.Typeflag {
	case tar.TypeSymlink, tar.TypeLink:
		return "", &UnsafeArchiveError{Entry: n, Reason: "a link (to " + hdr.Linkname + ")"}
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return "", &UnsafeArchiveError{Entry: n, Reason: "a device or fifo"}
	case tar.TypeReg, tar.TypeDir, tar.TypeXGlobalHeader:
	default:
		return "", &UnsafeArchiveError{Entry: n, Reason: fmt.Sprintf("of unsupported type %q", hdr.Typeflag)}
	}
	if strings.HasPrefix(n, "/") || strings.HasPrefix(n, `\`) || filepath.IsAbs(n) || (len(n) >= 2 && n[1] == ':') {
		return "", &UnsafeArchiveError{Entry: n, Reason: "an absolute path"}
	}
	for _, part := range strings.FieldsFunc(n, func(r rune) bool { return r == '/' || r == '\\' }) {
		if part == ".." {
			return "", &UnsafeArchiveError{Entry: n, Reason: "a path climbing out with .."}
		}
	}
	return path.Clean(n), nil
}

// installRecord remembers which archive an installed binary came from, so a
// tarball need not be downloaded again to learn that nothing changed. The
// binary is re-hashed before the record is trusted.
type installRecord struct {
	Path          string `json:"path"`
	ArchiveSHA256 string `json:"archiveSha256"`
	ArchiveSHA512 string `json:"archiveSha512"`
	BinarySHA256  string `json:"binarySha256"`
}

func recordPath(stateDir, dest string) string {
	if stateDir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return ""
		}
		stateDir = filepath.Join(cache, "kubeiam", "bundle")
	}
	abs, err := filepath.Abs(dest)
	if err != nil {
		abs = dest
	}
	key := sha256.Sum256([]byte(abs))
	return filepath.Join(stateDir, "installed", hex.EncodeToString(key[:12])+".json")
}

func writeRecord(file string, r installRecord) error {
	if file == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return fsafe.WriteFile(file, b, 0o600)
}

// alreadyInstalled reports whether dest already holds the selected binary:
// a bare binary's published SHA-256 is the file's own; a tarball's binary is
// known through the record of the install that unpacked it.
func alreadyInstalled(dest string, sel *Selection, rec string) (string, bool) {
	sum, err := fileSHA256(dest)
	if err != nil {
		return "", false
	}
	a := sel.Asset.Archive
	if !sel.Tarball() {
		return sum, strings.EqualFold(sum, a.SHA256)
	}
	if rec == "" {
		return "", false
	}
	b, err := os.ReadFile(rec)
	if err != nil {
		return "", false
	}
	var r installRecord
	if json.Unmarshal(b, &r) != nil {
		return "", false
	}
	ok := strings.EqualFold(r.ArchiveSHA256, a.SHA256) && strings.EqualFold(r.ArchiveSHA512, a.SHA512) && r.BinarySHA256 == sum
	return sum, ok
}

func fileSHA256(file string) (string, error) {
	fh, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer fh.Close()
	h := sha256.New()
	if _, err := io.Copy(h, fh); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// versionArgs are what prints a client's version without a cluster.
func versionArgs(component string) []string {
	if component == ComponentKubectl {
		return []string{"version", "--client"}
	}
	return []string{"version"}
}

func runVersion(ctx context.Context, sel *Selection, res *InstallResult, opts InstallOptions) {
	if opts.SkipVersion {
		return
	}
	if sel.OS != runtime.GOOS || sel.Arch != runtime.GOARCH {
		res.VersionErr = fmt.Errorf("built for %s/%s, not run on %s/%s", sel.OS, sel.Arch, runtime.GOOS, runtime.GOARCH)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, res.Path, versionArgs(sel.Component)...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		res.VersionErr = fmt.Errorf("could not run %s %s: %w: %s", res.Path, strings.Join(versionArgs(sel.Component), " "), err, strings.TrimSpace(out.String()))
		return
	}
	res.Version = strings.TrimSpace(out.String())
}
