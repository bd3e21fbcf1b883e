//! The domain's closed vocabularies. Stored as text; the GraphQL enums are these same types.
use async_graphql::Enum;

use super::error::ServiceError;

macro_rules! stored_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = ServiceError;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                match text {
                    $($text => Ok($name::$variant),)+
                    other => Err(ServiceError::Internal(format!(
                        "unknown {} `{other}` in the database",
                        stringify!($name)
                    ))),
                }
            }
        }
    };
}

stored_enum!(
    /// What kind of body an agency is.
    AgencyKind {
        /// A provincial department (sở, ban, ngành).
        Department => "DEPARTMENT",
        /// A district-level People's Committee (UBND huyện, thị xã, thành phố).
        District => "DISTRICT",
        /// Another provincial body (the army command, the police, the PC's office).
        ProvincialBody => "PROVINCIAL_BODY",
        /// A mass organization such as the Fatherland Front.
        MassOrganization => "MASS_ORGANIZATION",
        /// The provincial People's Committee.
        PeopleCommittee => "PEOPLE_COMMITTEE",
        /// A national Ministry cited by the plan (not a tenant).
        Ministry => "MINISTRY",
        /// A commune's People's Committee (UBND xã, or đặc khu), the level below the
        /// province since the districts ended on 1 July 2025.
        Commune => "COMMUNE",
        /// A ward's People's Committee (UBND phường), the urban commune level.
        Ward => "WARD",
    }
);

stored_enum!(
    /// How a task's implementation period is given.
    TaskSchedule {
        /// "Hằng năm": every year of the plan's horizon.
        Annual => "ANNUAL",
        /// One or more phases such as 2021–2025.
        Phased => "PHASED",
        /// Once, for one reporting period (e.g. an implementation plan, owed for the year
        /// the plan takes effect): that period only, not the periods within it.
        Once => "ONCE",
    }
);

stored_enum!(
    /// Where in the plan's decision a section stands.
    SectionPart {
        /// A numbered section of the appendix ("Phụ lục"): the plan's tasks.
        Appendix => "APPENDIX",
        /// Duties the decision's text gives (section III, "Tổ chức thực hiện"): the
        /// implementation plans and the coordinator's consolidated report.
        Body => "BODY",
    }
);

stored_enum!(
    /// What an agency group stands for, where it is not a list of members.
    GroupExpansion {
        /// Whoever coordinates the group's plan on the day asked: a duty of the
        /// coordinator follows a hand-over of the coordination.
        PlanCoordinator => "PLAN_COORDINATOR",
    }
);

stored_enum!(
    /// What span a period covers.
    PeriodKind {
        /// A calendar year, e.g. "2024": a reporting period.
        Year => "YEAR",
        /// The first or second half of a year, e.g. "2024S1": a reporting period.
        HalfYear => "HALF_YEAR",
        /// A phase of a plan's horizon, e.g. "2021-2025", which tasks run over.
        Phase => "PHASE",
    }
);

stored_enum!(
    /// An assignee's part in a task.
    AssignmentRole {
        /// Cơ quan chủ trì: obliged to report.
        Lead => "LEAD",
        /// Cơ quan phối hợp: may contribute.
        Partner => "PARTNER",
    }
);

stored_enum!(
    /// What a signed-in user may do. VIEWER and EDITOR act for their own agency only.
    Role {
        /// Reads its agency's submissions.
        Viewer => "VIEWER",
        /// Reads and writes its agency's submissions.
        Editor => "EDITOR",
        /// Staff of a plan's coordinating agency: reviews submitted reports and manages
        /// reporting windows of the plans their agency coordinates.
        Coordinator => "COORDINATOR",
        /// Reads every submitted (non-draft) report and aggregate.
        Analyst => "ANALYST",
        /// Manages users; reads every submitted report.
        Admin => "ADMIN",
    }
);

stored_enum!(
    /// Where a submission is in its review workflow.
    SubmissionStatus {
        /// Being written; seen only by its own agency.
        Draft => "DRAFT",
        /// Sent to the coordinator.
        Submitted => "SUBMITTED",
        /// Sent back by the coordinator with a comment; editable again.
        Returned => "RETURNED",
        /// Accepted by the coordinator.
        Accepted => "ACCEPTED",
    }
);

stored_enum!(
    /// Where an obligation stands: its report's status as the caller sees it.
    ObligationState {
        /// No report the caller can see.
        Missing => "MISSING",
        /// Being written (seen as such only by the agency itself).
        Draft => "DRAFT",
        /// Sent to the coordinator, awaiting review.
        Submitted => "SUBMITTED",
        /// Sent back by the coordinator for changes.
        Returned => "RETURNED",
        /// Accepted by the coordinator.
        Accepted => "ACCEPTED",
    }
);

stored_enum!(
    /// How far a task (or a deliverable) has come.
    Progress {
        /// Not started yet.
        NotStarted => "NOT_STARTED",
        /// Under way.
        InProgress => "IN_PROGRESS",
        /// Done.
        Completed => "COMPLETED",
    }
);

stored_enum!(
    /// A coordinator's decision on a submitted report.
    ReviewDecision {
        /// Accept the report: it becomes ACCEPTED, which is final.
        Accept => "ACCEPT",
        /// Return the report to its agency for changes: it becomes RETURNED; a comment is
        /// required.
        Return => "RETURN",
    }
);

/// Reads a stored enum, treating an unknown value as an internal error.
pub fn parse_stored<T: std::str::FromStr<Err = ServiceError>>(
    text: &str,
) -> Result<T, ServiceError> {
    text.parse()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_text_round_trips() {
        for kind in AgencyKind::ALL {
            assert_eq!(kind.as_str().parse::<AgencyKind>().unwrap(), *kind);
        }
        assert!("district".parse::<AgencyKind>().is_err());
    }
}
