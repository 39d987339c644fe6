package transport

// EnvLauncher is envLauncher, for the tests of Prepare.
const EnvLauncher = envLauncher
