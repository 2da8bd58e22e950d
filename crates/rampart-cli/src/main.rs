//! `rampart`: parse the command line and dispatch. Errors are printed as one line on
//! stderr with a non-zero exit.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use rampart_app::SystemClock;
use rampart_cli::cli::{
    AdminCommand, AuditCommand, Cli, Command, CostCommand, ExportFormatArg, KeysCommand,
    PolicyCommand,
};
use rampart_cli::config::{Config, ENV_ROOT_KEY, process_env};
use rampart_cli::{admin, client, generate, iacm, logging, output, println, serve};

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let env = process_env();
            let mut config = Config::load(args.config.as_deref(), &env)?;
            if let Some(dir) = args.data_dir {
                config.server.data_dir = dir;
            }
            if let Some(listen) = args.listen {
                config.server.listen = listen;
            }
            // Re-validate after flags.
            config.listen_addr()?;
            logging::init(&config.log.level, &config.log.format);
            let server = serve::start(
                &config,
                env.get(ENV_ROOT_KEY).map(String::as_str),
                Arc::new(SystemClock),
            )
            .await?;
            if let Some(token) = &server.initial_admin_token {
                eprintln!(
                    "Rampart initialised. The owner's API token (shown once, keep it safe):\n{}",
                    token.expose()
                );
            }
            eprintln!(
                "Serving https://{} (trust {})",
                server.https_addr,
                server.cert_file.display()
            );
            serve::wait_for_signal().await;
            tracing::info!("shutting down");
            server.stop().await;
            Ok(())
        }
        Command::Admin { command } => {
            logging::init("warn", "text");
            match command {
                AdminCommand::Init {
                    config,
                    data_dir,
                    admin_email,
                } => {
                    println!("{}", admin::init(config, data_dir, &admin_email).await?);
                }
                AdminCommand::Join {
                    config,
                    data_dir,
                    root_key_file,
                } => {
                    println!("{}", admin::join(config, data_dir, &root_key_file).await?);
                }
                AdminCommand::ResetAdmin {
                    config,
                    data_dir,
                    email,
                } => {
                    println!(
                        "{}",
                        admin::reset_admin(config, data_dir, email.as_deref()).await?
                    );
                }
                AdminCommand::Audit { command } => audit(command).await?,
                AdminCommand::VerifyState {
                    config,
                    data_dir,
                    workspace,
                    org,
                    project,
                } => {
                    let workspace = workspace.map(|w| format!("{org}/{project}/{w}"));
                    let report =
                        admin::verify_state(config, data_dir, workspace.as_deref()).await?;
                    for problem in &report.problems {
                        println!(
                            "TAMPERED: {} version {}: {}",
                            problem.workspace, problem.version, problem.problem
                        );
                    }
                    if !report.problems.is_empty() {
                        anyhow::bail!(
                            "{} of {} state versions do not verify",
                            report.problems.len(),
                            report.versions
                        );
                    }
                    println!(
                        "OK: {} state versions of {} workspaces verified",
                        report.versions, report.workspaces
                    );
                }
                AdminCommand::Keys {
                    command:
                        KeysCommand::Rotate {
                            config,
                            data_dir,
                            org,
                            project,
                            new_key_file,
                        },
                } => match org.map(|org| match project {
                    Some(project) => format!("{org}/{project}"),
                    None => org,
                }) {
                    Some(scope) => {
                        let version = admin::rotate_ring(config, data_dir, &scope).await?;
                        println!("{scope}: key version {version} is now primary");
                    }
                    None => {
                        println!(
                            "{}",
                            admin::rotate_root_key(config, data_dir, new_key_file).await?
                        );
                    }
                },
            }
            Ok(())
        }
        Command::Org {
            command,
            client: args,
        } => client::org(command, &args).await,
        Command::Project {
            command,
            client: args,
        } => client::project(command, &args).await,
        Command::Token {
            command,
            client: args,
        } => client::token(command, &args).await,
        Command::User {
            command,
            client: args,
        } => client::user(command, &args).await,
        Command::Role {
            command,
            client: args,
        } => client::role(command, &args).await,
        Command::Group {
            command,
            client: args,
        } => client::group(command, &args).await,
        Command::Access {
            command,
            client: args,
        } => client::access(command, &args).await,
        Command::Workspace {
            command,
            client: args,
        } => client::workspace(command, &args).await,
        Command::State {
            command,
            client: args,
        } => client::state(command, &args).await,
        Command::Plan {
            command,
            client: args,
        } => client::iacm::plans::plan(command, &args).await,
        Command::PolicySet {
            command,
            client: args,
        } => client::iacm::policy_sets::policy_set(command, &args).await,
        Command::Variable {
            command,
            client: args,
        } => client::iacm::variables::variable(command, &args).await,
        Command::VariableSet {
            command,
            client: args,
        } => client::iacm::variables::variable_set(command, &args).await,
        Command::Run {
            command,
            client: args,
        } => client::iacm::runs::run(command, &args).await,
        Command::Tf {
            command,
            client: args,
        } => client::iacm::tf::tf(command, &args).await,
        Command::Incident {
            command,
            client: args,
        } => client::incident(command, &args).await,
        Command::Alert {
            command,
            client: args,
        } => client::alert(command, &args).await,
        Command::Oncall {
            schedule,
            at,
            project,
            client: args,
        } => client::oncall(schedule, at, project, &args).await,
        Command::Override {
            command,
            client: args,
        } => client::schedule_override(command, &args).await,
        Command::Service {
            command,
            client: args,
        } => client::service(command, &args).await,
        Command::Integration {
            command,
            client: args,
        } => client::integration(command, &args).await,
        Command::Schedule {
            command,
            client: args,
        } => client::sre::schedules::schedule(command, &args).await,
        Command::EscalationPolicy {
            command,
            client: args,
        } => client::sre::escalation_policies::escalation_policy(command, &args).await,
        Command::Notification {
            command,
            client: args,
        } => client::sre::notifications::notification(command, &args).await,
        Command::ContactMethod {
            command,
            client: args,
        } => client::sre::contact_methods::contact_method(command, &args).await,
        Command::Secret {
            command,
            client: args,
        } => client::platform::secrets::secret(command, &args).await,
        Command::Sso {
            command,
            client: args,
        } => client::platform::sso::sso(command, &args).await,
        Command::Delegate {
            command,
            client: args,
        } => client::platform::delegates::delegate(command, &args).await,
        Command::Runbook {
            command,
            client: args,
        } => client::sre::runbooks::runbook(command, &args).await,
        Command::Slo {
            command,
            client: args,
        } => client::sre::slos::slo(command, &args).await,
        Command::ServiceAccount {
            command,
            client: args,
        } => client::platform::identity::service_account(command, &args).await,
        Command::Allowlist {
            command,
            client: args,
        } => client::platform::network::allowlist(command, &args).await,
        Command::Key {
            command,
            client: args,
        } => client::platform::keys::key(command, &args).await,
        Command::Cost {
            command: CostCommand::Estimate { plan, output },
        } => iacm::cost_estimates::estimate(&plan, output),
        // Answered in `main`, before the runtime: its exit status has three values.
        Command::Policy { .. } => Ok(()),
        Command::Completions { shell } => generate::completions(shell, &mut std::io::stdout()),
        Command::Man { dir: Some(dir) } => generate::man_pages(&dir),
        Command::Man { dir: None } => generate::man_page(&mut std::io::stdout()),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Policy {
        command: PolicyCommand::Eval(args),
    } = &cli.command
    {
        // Offline and synchronous; 0 nothing denies, 1 something denies, 2 an error.
        return match iacm::policy_eval::run(args) {
            Ok(iacm::policy_eval::Verdict::Pass) => ExitCode::SUCCESS,
            Ok(iacm::policy_eval::Verdict::Deny) => ExitCode::from(1),
            Err(error) if output::is_closed_pipe(&error) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("error: {error:#}");
                ExitCode::from(2)
            }
        };
    }
    if let Command::Delegate {
        command: client::platform::delegates::DelegateCommand::SandboxExec { confinement },
        ..
    } = &cli.command
    {
        // The script sandbox's helper confines itself single-threaded, before any
        // runtime exists, and becomes the script; it returns only when it could not.
        let status = client::platform::delegates::sandbox_exec(confinement);
        return ExitCode::from(u8::try_from(status).unwrap_or(1));
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: starting the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`… | head`) and took what it wanted: end quietly (`output`).
        Err(error) if output::is_closed_pipe(&error) => ExitCode::SUCCESS,
        // `rampart tf`'s exit codes (CONTRACTS.md).
        Err(error) if error.downcast_ref::<client::iacm::tf::TfExit>().is_some() => {
            let code = error
                .downcast_ref::<client::iacm::tf::TfExit>()
                .map_or(1, |exit| exit.code);
            eprintln!("{error:#}");
            ExitCode::from(code)
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn audit(command: AuditCommand) -> anyhow::Result<()> {
    match command {
        AuditCommand::PublicKey { config, data_dir } => {
            println!("{}", admin::audit_public_key(config, data_dir).await?);
        }
        AuditCommand::Export {
            config,
            data_dir,
            format,
            output,
            since,
            until,
        } => {
            let format = match format {
                ExportFormatArg::Ndjson => rampart_app::platform::audit_log::ExportFormat::Ndjson,
                ExportFormatArg::Csv => rampart_app::platform::audit_log::ExportFormat::Csv,
            };
            let query = rampart_app::platform::audit_log::AuditQuery {
                since,
                until,
                ..Default::default()
            };
            admin::audit_export(config, data_dir, format, query, output).await?;
        }
        AuditCommand::Verify { file, public_key } => {
            let report = admin::audit_verify(&file, &public_key)?;
            let kind = if report.complete {
                "complete"
            } else {
                "partial"
            };
            if report.is_intact() {
                println!(
                    "OK: {kind} export of a log of {} entries; {} entries and {} pruned \
                     verified against {} signed checkpoint(s)",
                    report.tree_size, report.entries, report.pruned, report.checkpoints
                );
            } else {
                for problem in &report.problems {
                    println!("TAMPERED: {problem}");
                }
                if report.problems_not_listed > 0 {
                    println!("… and {} more problems", report.problems_not_listed);
                }
                anyhow::bail!(
                    "the audit export does not verify ({} problem(s))",
                    report.problems.len() as u64 + report.problems_not_listed
                );
            }
        }
    }
    Ok(())
}
