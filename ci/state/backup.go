package state

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/infrapipe/infrapipe/ci/environment"
)

// ErrNoState is returned for `terraform state pull` output that holds no state: nothing at
// all, or the empty state Terraform 1.11 prints for a backend without a state object
// (serial 0, no lineage, no resources). The environment has never been applied, so there is
// nothing to back up (and nothing to lose).
var ErrNoState = errors.New("no state yet: the backend holds none (never applied?)")

// Snapshot is what the pipeline needs to know about one state file.
type Snapshot struct {
	Version          int      `json:"version"`
	TerraformVersion string   `json:"terraform_version"`
	Serial           uint64   `json:"serial"`
	Lineage          string   `json:"lineage"`
	Addresses        []string `json:"addresses"` // managed and data resources, sorted
	// Managed counts the managed resource instances: what a backup keeps, data sources
	// being read again by every plan.
	Managed int `json:"managed"`
	// ids are the managed instances' ids by address, where the provider set one: a restore
	// tells the object a backup names from the one the state names now by them. tags are
	// the instances' tags by address (tags_all, else tags): a restore refuses a backup
	// tagged for another environment (checkEnvironment).
	ids  map[string]string
	tags map[string]map[string]string
}

// ReadState checks that data is a Terraform state (format version 4, a lineage, a serial)
// before anyone keeps or pushes it: a backup of an error message restores nothing.
func ReadState(data []byte) (Snapshot, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return Snapshot{}, ErrNoState
	}
	var raw struct {
		Version          *int    `json:"version"`
		TerraformVersion string  `json:"terraform_version"`
		Serial           *uint64 `json:"serial"`
		Lineage          string  `json:"lineage"`
		Resources        []struct {
			Module    string `json:"module"`
			Mode      string `json:"mode"`
			Type      string `json:"type"`
			Name      string `json:"name"`
			Instances []struct {
				IndexKey   any `json:"index_key"`
				Attributes struct {
					ID      any            `json:"id"`
					TagsAll map[string]any `json:"tags_all"`
					Tags    map[string]any `json:"tags"`
				} `json:"attributes"`
			} `json:"instances"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return Snapshot{}, fmt.Errorf("not a Terraform state (JSON): %w", err)
	}
	switch {
	case raw.Version != nil && *raw.Version == 4 && raw.Lineage == "" &&
		raw.Serial != nil && *raw.Serial == 0 && len(raw.Resources) == 0:
		return Snapshot{}, ErrNoState
	case raw.Version == nil:
		return Snapshot{}, errors.New("not a Terraform state: no \"version\"")
	case *raw.Version != 4:
		return Snapshot{}, fmt.Errorf("state format version %d is not supported (want 4, Terraform 0.12 and later)", *raw.Version)
	case raw.Lineage == "":
		return Snapshot{}, errors.New("not a Terraform state: no \"lineage\"")
	case raw.Serial == nil:
		return Snapshot{}, errors.New("not a Terraform state: no \"serial\"")
	}
	s := Snapshot{Version: 4, TerraformVersion: raw.TerraformVersion, Serial: *raw.Serial, Lineage: raw.Lineage,
		ids: map[string]string{}, tags: map[string]map[string]string{}}
	for _, r := range raw.Resources {
		for _, inst := range r.Instances {
			a := address(r.Module, r.Mode, r.Type, r.Name, inst.IndexKey)
			s.Addresses = append(s.Addresses, a)
			if r.Mode != "data" {
				s.Managed++
			}
			if id, ok := inst.Attributes.ID.(string); ok && id != "" && r.Mode != "data" {
				s.ids[a] = id
			}
			// tags_all (the provider's default_tags too) wins over tags, key by key.
			for _, tags := range []map[string]any{inst.Attributes.Tags, inst.Attributes.TagsAll} {
				for k, v := range tags {
					if s.tags[a] == nil {
						s.tags[a] = map[string]string{}
					}
					s.tags[a][k], _ = v.(string)
				}
			}
		}
	}
	sort.Strings(s.Addresses)
	return s, nil
}

// address is a state resource instance's address, as Terraform writes it.
func address(module, mode, typ, name string, key any) string {
	base := typ + "." + name
	if mode == "data" {
		base = "data." + base
	}
	if module != "" {
		base = module + "." + base
	}
	return base + indexSuffix(key)
}

func indexSuffix(key any) string {
	switch k := key.(type) {
	case nil:
		return ""
	case string:
		return fmt.Sprintf("[%q]", k)
	case float64:
		return "[" + strconv.FormatFloat(k, 'f', -1, 64) + "]"
	default:
		return fmt.Sprintf("[%v]", k)
	}
}

// Backup is one kept copy of an environment's state, taken before an apply.
type Backup struct {
	Env       environment.Name `json:"env"`
	Serial    uint64           `json:"serial"`
	Lineage   string           `json:"lineage"`
	SHA256    string           `json:"sha256"` // hex of the exact bytes kept
	TakenAt   time.Time        `json:"taken_at"`
	Resources int              `json:"resources"` // managed instances (Snapshot.Managed)
}

// NewBackup checks and checksums `terraform state pull` output.
func NewBackup(env environment.Name, data []byte, takenAt time.Time) (Backup, error) {
	if _, err := environment.ParseName(string(env)); err != nil {
		return Backup{}, fmt.Errorf("backup: %w", err)
	}
	snap, err := ReadState(data)
	if err != nil {
		return Backup{}, fmt.Errorf("backup of %s: %w", env, err)
	}
	sum := sha256.Sum256(data)
	return Backup{
		Env: env, Serial: snap.Serial, Lineage: snap.Lineage,
		SHA256: hex.EncodeToString(sum[:]), TakenAt: takenAt.UTC(), Resources: snap.Managed,
	}, nil
}

// backupTime sorts lexically, so a listing of the prefix is in time order.
const backupTime = "20060102T150405Z"

// FileName is the backup's base name: <timestamp>-serial-<n>-<sha8>.tfstate. The serial and
// checksum in the name let a human pick a backup from a bucket listing.
func (b Backup) FileName() string {
	return fmt.Sprintf("%s-serial-%d-%s.tfstate", b.TakenAt.UTC().Format(backupTime), b.Serial, b.SHA256[:min(8, len(b.SHA256))])
}

// DefaultBackupPrefix is where backups go when the backend names no backup_prefix.
func DefaultBackupPrefix(env environment.Name) string { return "backups/" + string(env) + "/" }

// backupFolder is the folder backups of env go to: prefix (DefaultBackupPrefix when empty)
// with one trailing slash, so writing and listing agree whether or not the config wrote it.
func backupFolder(env environment.Name, prefix string) string {
	if prefix == "" {
		return DefaultBackupPrefix(env)
	}
	return strings.TrimSuffix(prefix, "/") + "/"
}

// Key is the object key of the backup under prefix (DefaultBackupPrefix when empty), e.g.
// backups/prod/20261127T005039Z-serial-4-1a2b3c4d.tfstate.
func (b Backup) Key(prefix string) string {
	return backupFolder(b.Env, prefix) + b.FileName()
}

var backupName = regexp.MustCompile(`^(\d{8}T\d{6}Z)-serial-(\d+)-([0-9a-f]{8})\.tfstate$`)

// ParseBackupName reads the time, serial and checksum prefix back from a backup's name (or
// key), so a restore can check the bytes it downloaded against the name it was asked for.
func ParseBackupName(name string) (takenAt time.Time, serial uint64, sha8 string, err error) {
	base := name[strings.LastIndex(name, "/")+1:]
	m := backupName.FindStringSubmatch(base)
	if m == nil {
		return time.Time{}, 0, "", fmt.Errorf("backup name %q does not look like <YYYYMMDDThhmmssZ>-serial-<n>-<sha8>.tfstate", name)
	}
	takenAt, err = time.Parse(backupTime, m[1])
	if err != nil {
		return time.Time{}, 0, "", fmt.Errorf("backup name %q: time: %w", name, err)
	}
	serial, err = strconv.ParseUint(m[2], 10, 64)
	if err != nil {
		return time.Time{}, 0, "", fmt.Errorf("backup name %q: serial: %w", name, err)
	}
	return takenAt, serial, m[3], nil
}

// Verify checks that data is the state this backup recorded.
func (b Backup) Verify(data []byte) error {
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != b.SHA256 {
		return fmt.Errorf("backup %s: checksum mismatch: recorded sha256 %s, file has %s", b.FileName(), b.SHA256, got)
	}
	return nil
}

// NotTakenLine is the backup line of an apply summary where the environment's profile takes
// no backup (backup_state): there may well be a state, but none was kept.
const NotTakenLine = "- State backup: not taken, this environment's profile does not ask for one (backup_state)\n"

// SummaryLine is the backup's line in an apply summary: where it is kept and how it is
// returned. key is "" when there was no state to back up.
func (b Backup) SummaryLine(key string) string {
	if key == "" {
		return "- State backup: none needed, the environment has no state yet\n"
	}
	return fmt.Sprintf("- State backup: serial %d, lineage `%s`, sha256 `%s`, %d resources, kept at `%s` and returned as `backups/%s`\n",
		b.Serial, b.Lineage, b.SHA256, b.Resources, key, b.FileName())
}
