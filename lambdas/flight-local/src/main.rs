//! `flight-local`: the local stack that scripts/local.sh puts together.
//!
//! - `provision`: creates on DynamoDB Local and moto what Terraform creates in
//!   AWS, from the catalog module's outputs;
//! - `dispatch`: delivers each rule's events to its function, as Lambda would,
//!   and once ready writes the stack's env file (`local.env`);
//! - `function-env`: the environment of an event type's ingest function, as
//!   `cargo lambda watch --env-var` takes it (scripts/lambda-smoke.sh).
//!
//! Test runs on the stack are `flightctl test-run` (scripts/put-events.sh).

mod alarms;
mod dispatch;
mod local_env;
mod stack;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "flight-local", about = "The local stack of Flight Controller")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Creates the local stack from `terraform output -json` of the catalog module.
    Provision {
        /// The outputs, as `terraform output -json` writes them.
        #[arg(long)]
        outputs: PathBuf,
        /// Where to write what was created, for `dispatch`.
        #[arg(long)]
        stack: PathBuf,
    },
    /// Delivers each rule's queued events to its function until stopped.
    Dispatch {
        #[arg(long)]
        stack: PathBuf,
        /// How often the settle function runs (a schedule in AWS), in milliseconds.
        #[arg(long, default_value_t = 1000)]
        settle_every_ms: u64,
        /// Once ready, write the stack's env file here (scripts source it):
        /// the lines of --services-env, the stack's names, this process's id.
        #[arg(long, requires = "services_env")]
        env_file: Option<PathBuf>,
        /// The services' env file (scripts/services.sh writes it).
        #[arg(long)]
        services_env: Option<PathBuf>,
    },
    /// Prints the environment of the function ingesting an event type, as
    /// Terraform sets it: `NAME=value,NAME=value` (`cargo lambda watch --env-var`).
    FunctionEnv {
        #[arg(long)]
        stack: PathBuf,
        /// The event type its function ingests (e.g. GuardrailActivated).
        #[arg(long)]
        event_type: String,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("flight-local: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<()> {
    match command {
        Command::Provision { outputs, stack } => {
            let text = std::fs::read_to_string(&outputs)
                .with_context(|| format!("cannot read {}", outputs.display()))?;
            let outputs = serde_json::from_str(&text)
                .with_context(|| format!("{} is not JSON", outputs.display()))?;
            let config = flight_aws::aws_config(None).await;
            let created = stack::provision(outputs, &stack::Clients::new(&config)).await?;
            std::fs::write(&stack, serde_json::to_string_pretty(&created)?)
                .with_context(|| format!("cannot write {}", stack.display()))
        }
        Command::FunctionEnv { stack, event_type } => {
            let stack = stack::Stack::load(&stack)?;
            let function = stack
                .ingest_function(&event_type)
                .with_context(|| format!("the stack has no function ingesting `{event_type}`"))?;
            println!("{}", function.env_var_list());
            Ok(())
        }
        Command::Dispatch {
            stack: stack_file,
            settle_every_ms,
            env_file,
            services_env,
        } => {
            flight_lambda::init_logging();
            let stack = stack::Stack::load(&stack_file)?;
            let binary = std::env::current_exe().context("cannot tell this binary's path")?;
            dispatch::run(stack, Duration::from_millis(settle_every_ms), |stack| {
                let (Some(path), Some(services)) = (&env_file, &services_env) else {
                    return Ok(());
                };
                local_env::LocalEnv {
                    stack,
                    stack_file: &stack_file,
                    binary: &binary,
                    dispatcher_pid: std::process::id(),
                }
                .write(path, services)
            })
            .await
        }
    }
}
