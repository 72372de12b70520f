//! Test support: a moto emulator on loopback, seeding through the SDK, and an analysisd receiver.
