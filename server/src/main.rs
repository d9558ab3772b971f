//! The server binary: [`server::cli`] with the process's arguments.

fn main() -> std::process::ExitCode {
    server::cli::main(std::env::args_os())
}
