# getapr — see README.md. Targets that build a lab (lab-*, demo, bench-lab) need root.
# Two modules: the library (.) and examples/ (its own go.mod, the only one that
# requires gRPC); build, test, lab-test and lint cover both.
GO          ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
BENCHCOUNT  ?= 6

.PHONY: build test lab-test lab-up lab-down bench bench-go bench-lab bench-charts demo lint consumer-check fmt clean

build:
	$(GO) build ./...
	cd examples && $(GO) build ./...
	$(GO) build -o bin/getapr ./cmd/getapr

# Unit tests: no root needed. As root, netstate's namespace tests run too.
test:
	$(GO) test -race -count=1 ./...
	cd examples && $(GO) test -race -count=1 ./...

# Integration tests in the project's network-namespace lab (root). Every package
# with lab tests brings up its own lab from TestMain and tears it down on exit.
lab-test:
	$(GO) test -tags lab -count=1 -p 1 -timeout 15m ./...
	cd examples && $(GO) test -tags lab -count=1 -p 1 -timeout 15m ./...

lab-up:
	$(GO) run ./internal/lab/cmd/gaprlab up

lab-down:
	$(GO) run ./internal/lab/cmd/gaprlab down

bench: bench-go bench-lab

bench-go:
	$(GO) test -p 1 -run '^$$' -bench . -benchmem -count $(BENCHCOUNT) ./... | tee bench-go.txt

# Also writes the charts (charts/*.svg) and saves the measurements to
# bench-lab.json; bench-charts renders the report, README region and charts
# again from that file, without a lab, with the Go benchmarks of bench-go.txt
# when it exists.
bench-lab:
	$(GO) run ./internal/lab/cmd/gaprbench -out BENCHMARKS.md -readme README.md

bench-charts:
	$(GO) run ./internal/lab/cmd/gaprbench -from bench-lab.json $(if $(wildcard bench-go.txt),-gobench bench-go.txt) -out BENCHMARKS.md -readme README.md

demo:
	bash testdata/demo.sh

lint:
	$(GO) vet ./...
	$(GO) vet -tags lab ./...
	$(GO) run $(STATICCHECK) ./...
	$(GO) run $(STATICCHECK) -tags lab ./...
	cd examples && $(GO) vet ./... && $(GO) vet -tags lab ./...
	cd examples && $(GO) run $(STATICCHECK) ./... && $(GO) run $(STATICCHECK) -tags lab ./...

# A program that imports dialer and pairs must not get gRPC, protobuf or any
# module outside .ci/consumer-allow.txt in its build list.
consumer-check:
	bash .ci/consumer-check

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin bench-go.txt bench-lab.json
