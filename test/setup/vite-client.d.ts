// Vite resolves `?raw` imports and import.meta.glob in tests (the committed config files, src/ for the
// import graph); these are its types for them.
/// <reference types="vite/client" />
