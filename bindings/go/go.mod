module github.com/hashrig/hashrig/bindings/go

go 1.19
