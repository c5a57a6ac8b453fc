//! The steps every plan has, whatever the paths: assuming the roles, discovering the instance, the
//! crash-consistent snapshot of all its volumes, and triage through SSM Run Command.

use super::context::{Ctx, Signer};
use super::transfer::{call, step};
use super::{requests, Action, Phase, Step, TriageOutput};

/// Assume the roles the plan signs with (other than the forensic role custody runs as), then
/// describe the instance and its volumes.
pub(crate) fn discover(ctx: &Ctx, dest: Option<&Signer>) -> Vec<Step> {
    let forensic = &ctx.forensic;
    let sts_region = &ctx.inventory.config.forensic_region;
    let mut out = Vec::new();
    let mut assume = |id: &str, what: &str, target: &Signer| {
        out.push(step(
            id.to_string(),
            format!("Assume the {what} role {} as {}", target.role_arn, target.session),
            Phase::Discover,
            Action::AssumeRole { role_arn: target.role_arn.clone(), session_name: target.session_name.clone() },
            None,
            vec![call(
                "sts:AssumeRole",
                &target.account,
                sts_region,
                forensic,
                requests::assume_role(forensic, target, sts_region),
            )],
        ));
    };
    if ctx.source.role_arn != forensic.role_arn {
        assume("assume-source-role", "source", &ctx.source);
    }
    if let Some(d) = dest.filter(|d| d.role_arn != forensic.role_arn && d.role_arn != ctx.source.role_arn) {
        assume("assume-destination-role", "destination", d);
    }
    let source = &ctx.source;
    let region = &ctx.src_region;
    out.push(step(
        "discover".to_string(),
        format!("Describe instance {} and its volumes in account {} ({region})", ctx.instance.id, ctx.src_account),
        Phase::Discover,
        Action::Discover,
        None,
        vec![
            call(
                "ec2:DescribeInstances",
                &ctx.src_account,
                region,
                source,
                vec![requests::ec2_describe(source, "ec2:DescribeInstances", region)],
            ),
            call(
                "ec2:DescribeVolumes",
                &ctx.src_account,
                region,
                source,
                vec![requests::ec2_describe(source, "ec2:DescribeVolumes", region)],
            ),
        ],
    ));
    out
}

/// One crash-consistent CreateSnapshots of every volume, tagged with the case, then wait for it.
pub(crate) fn create_snapshots(ctx: &Ctx) -> Step {
    let source = &ctx.source;
    let region = &ctx.src_region;
    let volumes: Vec<&str> = ctx.instance.volumes.iter().map(|v| v.id.as_str()).collect();
    step(
        "create-snapshots".to_string(),
        format!(
            "Snapshot {} crash-consistently ({}), tagged with the case, and wait for the snapshots to complete",
            ctx.instance.id,
            volumes.join(", ")
        ),
        Phase::Snapshot,
        Action::CreateSnapshots {
            tags: ctx.case_tags().into_iter().collect(),
            description: format!("custody case {}: crash-consistent snapshot of {}", ctx.case_id, ctx.instance.id),
        },
        None,
        vec![
            call("ec2:CreateSnapshots", &ctx.src_account, region, source, requests::create_snapshots(ctx, source)),
            call(
                "ec2:DescribeSnapshots",
                &ctx.src_account,
                region,
                source,
                vec![requests::ec2_describe(source, "ec2:DescribeSnapshots", region)],
            ),
        ],
    )
}

/// Triage: run the collection script through SSM Run Command and read its output.
pub(crate) fn triage(ctx: &Ctx, output: Option<&TriageOutput>, notes: &mut Vec<String>) -> Step {
    let source = &ctx.source;
    let region = &ctx.src_region;
    if output.is_none() {
        notes.push(
            "triage output is read inline with ssm:GetCommandInvocation (stdout is truncated at 24,000 characters, \
             stderr at 8,000): with --output s3://bucket/prefix the whole output goes to S3, and the preflight checks \
             the instance profile's s3:PutObject, custody's reads and the bucket policy"
                .to_string(),
        );
    }
    if ctx.instance.unknown.iter().any(|u| u == "tags") {
        notes.push(format!(
            "the tags of {} could not be read, so ssm:SendCommand on the instance carries no ssm:resourceTag keys and a \
             tag-scoped policy will refuse it",
            ctx.instance.id
        ));
    } else if let Some(tag) = &ctx.inventory.config.ssm_tag {
        if ctx.instance.tags.get(&tag.key) != Some(&tag.value) {
            notes.push(format!(
                "{} does not carry the tag {}={} that config.ssm_tag names for triage: a SendCommand policy \
                 scoped by ssm:resourceTag/{} will refuse it",
                ctx.instance.id, tag.key, tag.value, tag.key
            ));
        }
    }
    let mut calls = vec![
        call("ssm:SendCommand", &ctx.src_account, region, source, requests::send_command(ctx, source)),
        call(
            "ssm:GetCommandInvocation",
            &ctx.src_account,
            region,
            source,
            vec![requests::get_command_invocation(source, region)],
        ),
        call("ssm:ListCommands", &ctx.src_account, region, source, vec![requests::list_commands(source, region)]),
    ];
    if let Some(out) = output {
        calls.extend(super::triage_output::output_calls(ctx, source, out, notes));
    }
    step(
        "triage".to_string(),
        format!("Run the triage script on {} through SSM Run Command and read its output", ctx.instance.id),
        Phase::Triage,
        Action::Triage,
        None,
        calls,
    )
}
