//! How a saga is written down: one list of steps, each with its kind, the commands that
//! record its outcomes and what undoes it (ADR 0019). Each saga's domain crate holds its list;
//! the runner, the tests and the crash tests read it.

/// Where a step stands in its saga.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    /// Can be undone by its compensation, until the pivot.
    Compensatable,
    /// Its success commits the saga; its refusal starts the compensations.
    Pivot,
    /// After the pivot: cannot be refused for a business reason, retried until done.
    Retriable,
    /// Undoes a compensatable step after the pivot was refused; retried until done.
    Compensation,
}

/// One step of a saga's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepSpec {
    /// Stable name, for logs and metrics.
    pub name: &'static str,
    pub kind: StepKind,
    /// The commands that record its outcomes; the runner's boundaries (`before:<command>`,
    /// `after:<command>`) are named after them.
    pub outcomes: &'static [&'static str],
    /// The step that undoes it, if it can be undone.
    pub compensation: Option<&'static str>,
}

/// What is wrong with a saga's list, if anything: one pivot; compensatable steps before it,
/// each naming a compensation step of the list; retriable steps and compensations after it;
/// names and outcomes each listed once.
pub fn shape_problems(steps: &[StepSpec]) -> Vec<String> {
    let mut problems = Vec::new();
    let pivots: Vec<usize> = steps
        .iter()
        .enumerate()
        .filter(|(_, s)| s.kind == StepKind::Pivot)
        .map(|(i, _)| i)
        .collect();
    let [pivot] = pivots.as_slice() else {
        problems.push(format!("{} pivots, expected one", pivots.len()));
        return problems;
    };
    for (index, step) in steps.iter().enumerate() {
        match step.kind {
            StepKind::Compensatable => {
                if index > *pivot {
                    problems.push(format!("{} is compensatable after the pivot", step.name));
                }
                let undo = step
                    .compensation
                    .and_then(|name| steps.iter().find(|s| s.name == name));
                if !undo.is_some_and(|s| s.kind == StepKind::Compensation) {
                    problems.push(format!("{} names no compensation step", step.name));
                }
            }
            StepKind::Retriable | StepKind::Compensation => {
                if index < *pivot {
                    problems.push(format!("{} comes before the pivot", step.name));
                }
                if step.compensation.is_some() {
                    problems.push(format!("{} cannot be undone", step.name));
                }
            }
            StepKind::Pivot => {}
        }
    }
    let mut names: Vec<_> = steps.iter().map(|s| s.name).collect();
    names.sort_unstable();
    if names.windows(2).any(|w| w[0] == w[1]) {
        problems.push("a step name is listed twice".to_owned());
    }
    let mut outcomes: Vec<_> = steps.iter().flat_map(|s| s.outcomes.iter()).collect();
    outcomes.sort_unstable();
    if outcomes.windows(2).any(|w| w[0] == w[1]) {
        problems.push("an outcome is listed twice".to_owned());
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn step(
        name: &'static str,
        kind: StepKind,
        outcomes: &'static [&'static str],
        compensation: Option<&'static str>,
    ) -> StepSpec {
        StepSpec {
            name,
            kind,
            outcomes,
            compensation,
        }
    }

    #[test]
    fn a_well_formed_list_has_no_problems() {
        let steps = [
            step("hold", StepKind::Compensatable, &["Held"], Some("release")),
            step("pay", StepKind::Pivot, &["Paid", "Declined"], None),
            step("ship", StepKind::Retriable, &["Shipped"], None),
            step("release", StepKind::Compensation, &["Released"], None),
        ];
        assert!(shape_problems(&steps).is_empty());
    }

    #[test]
    fn misshapen_lists_are_named() {
        let no_pivot = [step("ship", StepKind::Retriable, &["Shipped"], None)];
        assert_eq!(shape_problems(&no_pivot), ["0 pivots, expected one"]);
        let wrong = [
            step("ship", StepKind::Retriable, &["Shipped"], None),
            step("pay", StepKind::Pivot, &["Paid"], None),
            step(
                "hold",
                StepKind::Compensatable,
                &["Shipped"],
                Some("nothing"),
            ),
        ];
        assert_eq!(
            shape_problems(&wrong),
            [
                "ship comes before the pivot",
                "hold is compensatable after the pivot",
                "hold names no compensation step",
                "an outcome is listed twice",
            ]
        );
    }
}
