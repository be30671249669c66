//go:build lab

package lab_test

import (
	"os"
	"testing"

	"github.com/getapr/getapr/internal/lab"
)

func TestMain(m *testing.M) { os.Exit(lab.Main(m, lab.Options{})) }
