/* plandoc_template.c — the blank plan document of plandoc_template(), in
 * Danish and English.
 *
 * Each text has the shape plandoc.c parses, with comments that explain
 * sections 2 to 5 field by field. The keys under existing_plans must be
 * those of plandoc_kinds[] in plandoc.c, in the same order.
 */
#include "plandoc.h"

#include <string.h>

/* One entry of existing_plans: the heading as a comment, then the kind's
 * key with its three empty fields. */
#define EXISTING_KIND(comment, key)                                            \
	"  # " comment "\n"                                                    \
	"  " key ":\n"                                                         \
	"    status:\n"                                                        \
	"    goals:\n"                                                         \
	"    actions:\n"

static const char template_da[] =
    "# Koordinerende indsatsplan – afsnit 2 til 5\n"
    "#\n"
    "# Afsnit 1 (stamoplysninger: borgeren, samtykke, koordinator,\n"
    "# deltagere, mødedato og borgerens godkendelse) kommer fra kip og\n"
    "# skrives ikke her.\n"
    "#\n"
    "# Skriv efter kolon. Felter må stå tomme, undtagen målets tekst og\n"
    "# datoen for opfølgning. Lange tekster skrives som en blok, hvor\n"
    "# linjeskift og tomme linjer bevares:\n"
    "#   status: |\n"
    "#     Første linje\n"
    "#     Anden linje\n"
    "\n"
    "# 2. Afdækning af status, mål og indsatser i eksisterende planer.\n"
    "# Information hertil indhentes inden koordinationsmødet af den\n"
    "# koordinerende funktion. For hver plan: status, mål (goals) og\n"
    "# indsats (actions). Status kan fx være \"Ikke relevant\", \"Ikke\n"
    "# aktuelt\" eller \"Forefindes ikke\".\n"
    "existing_plans:\n" EXISTING_KIND(
	"Behandlingsplan(er) for stofmisbrug (Serviceloven "
	"§ 141, sundhedsloven § 142)",
	"drug_treatment") EXISTING_KIND("Behandlingsplan for "
					"alkoholafhængighed",
					"alcohol_treatment")
	EXISTING_KIND("Psykiatrisk behandlingsplan (Psykiatriloven § 3 "
		      "stk. 3)",
		      "psychiatric_treatment")
	    EXISTING_KIND("Udskrivningsaftale (Psykiatriloven § 13 a)",
			  "discharge_agreement")
		EXISTING_KIND(
		    "Koordinationsplan (Psykiatriloven § 13 b)",
		    "coordination_plan") EXISTING_KIND("Social handleplan "
						       "(Serviceloven § 141)",
						       "social_action_plan")
		    EXISTING_KIND("Uddannelsesplan eller jobplan",
				  "education_job_plan")
			EXISTING_KIND(
			    "Andet",
			    "other") "\n"
				     "# 3. Primære eller akutte udfordringer i "
				     "prioriteret rækkefølge.\n"
				     "# Udarbejdes på det koordinerende møde, "
				     "og borgeren skal selv være\n"
				     "# inddraget. Det kan fx være, om "
				     "borgeren følger den psykiatriske\n"
				     "# behandling eller "
				     "stof-/alkoholbehandlingen, behov for "
				     "yderligere\n"
				     "# udredning, økonomiske forhold, "
				     "ensomhed, bolig, beskæftigelse\n"
				     "# eller uddannelse. Én udfordring pr. "
				     "linje, den vigtigste først:\n"
				     "#   - Støtte til stabilt fremmøde i den "
				     "ambulante psykiatri.\n"
				     "challenges:\n"
				     "\n"
				     "# 4. Fælles mål og prioritering "
				     "(udarbejdes på det koordinerende\n"
				     "# møde). Hvert mål skal have en tekst, "
				     "fx deltagelse i\n"
				     "# stofmisbrugsbehandling eller "
				     "fastholdelse i psykiatrisk\n"
				     "# behandling, og en række pr. indsats:\n"
				     "#   action:         Indsatser eller "
				     "opgaver\n"
				     "#   success:        Succeskriterier\n"
				     "#   responsibility: Rollefordeling – "
				     "hvem har ansvaret for\n"
				     "#                   indsatsen, herunder "
				     "borgerens eget ansvar?\n"
				     "#   timeline:       Tidsplan for "
				     "indsatser – overvej om indsatserne\n"
				     "#                   skal være parallelle "
				     "eller sekventielle.\n"
				     "# Flere mål og rækker tilføjes ved at "
				     "gentage \"- goal:\" og\n"
				     "# \"- action:\" med samme indrykning.\n"
				     "goals:\n"
				     "  - goal:\n"
				     "    actions:\n"
				     "      - action:\n"
				     "        success:\n"
				     "        responsibility:\n"
				     "        timeline:\n"
				     "\n"
				     "# Aftale med borgeren om, hvordan "
				     "behandlere skal reagere i\n"
				     "# tilfælde, hvor borgeren udebliver fra "
				     "en aftalt behandling.\n"
				     "no_show:\n"
				     "\n"
				     "# 5. Opfølgning: dato for det opfølgende "
				     "møde som ÅÅÅÅ-MM-DD (skal\n"
				     "# udfyldes), højst 6 måneder efter "
				     "udarbejdelsen af indsatsplanen.\n"
				     "# Her evalueres i forhold til punkt 4.\n"
				     "follow_up:\n";

static const char template_en[] =
    "# Coordinated action plan – sections 2 to 5\n"
    "#\n"
    "# Section 1 (master data: the citizen, consent, coordinator,\n"
    "# participants, meeting date and the citizen's approval) comes from\n"
    "# kip and is not written here.\n"
    "#\n"
    "# Write after the colon. Fields may stay empty, except the text of a\n"
    "# goal and the follow-up date. Long texts go in a block, which keeps\n"
    "# line breaks and blank lines:\n"
    "#   status: |\n"
    "#     First line\n"
    "#     Second line\n"
    "\n"
    "# 2. Status, goals and actions in existing plans.\n"
    "# Collected by the coordinator before the coordination meeting. For\n"
    "# each plan: status, goals and actions. The status may be, e.g.,\n"
    "# \"Ikke relevant\" (not relevant), \"Ikke aktuelt\" (not current)\n"
    "# or \"Forefindes ikke\" (does not exist).\n"
    "existing_plans:\n" EXISTING_KIND(
	"Treatment plan(s) for drug abuse (Social Services Act "
	"§ 141, Health Act § 142)",
	"drug_treatment") EXISTING_KIND("Treatment plan for alcohol dependence",
					"alcohol_treatment")
	EXISTING_KIND(
	    "Psychiatric treatment plan (Mental Health Act § 3(3))",
	    "psychiatric_treatment") EXISTING_KIND("Discharge agreement "
						   "(Mental Health Act § 13 a)",
						   "discharge_agreement")
	    EXISTING_KIND("Coordination plan (Mental Health Act § 13 b)",
			  "coordination_plan")
		EXISTING_KIND("Social action plan (Social Services Act § 141)",
			      "social_action_plan")
		    EXISTING_KIND("Education or job plan", "education_job_plan")
			EXISTING_KIND(
			    "Other",
			    "other") "\n"
				     "# 3. Primary or acute challenges, in "
				     "order of priority.\n"
				     "# Identified at the coordination "
				     "meeting, with the citizen taking\n"
				     "# part. For example: whether the citizen "
				     "follows the psychiatric or\n"
				     "# the drug/alcohol treatment, a need for "
				     "further assessment, money,\n"
				     "# loneliness, housing, work or "
				     "education. One challenge per line,\n"
				     "# the most important first:\n"
				     "#   - Support for regular attendance at "
				     "outpatient psychiatry.\n"
				     "challenges:\n"
				     "\n"
				     "# 4. Joint goals and priorities (agreed "
				     "at the coordination\n"
				     "# meeting). Each goal needs a text, e.g. "
				     "taking part in drug\n"
				     "# treatment or staying in psychiatric "
				     "treatment, and one row per\n"
				     "# action:\n"
				     "#   action:         Actions or tasks\n"
				     "#   success:        Success criteria\n"
				     "#   responsibility: Division of roles – "
				     "who is responsible for the\n"
				     "#                   action, including "
				     "the citizen's own part?\n"
				     "#   timeline:       Timeline – consider "
				     "whether the actions should\n"
				     "#                   run in parallel or "
				     "one after the other.\n"
				     "# Add goals and rows by repeating \"- "
				     "goal:\" and \"- action:\" with\n"
				     "# the same indentation.\n"
				     "goals:\n"
				     "  - goal:\n"
				     "    actions:\n"
				     "      - action:\n"
				     "        success:\n"
				     "        responsibility:\n"
				     "        timeline:\n"
				     "\n"
				     "# Agreed with the citizen: how the "
				     "practitioners react if the\n"
				     "# citizen does not turn up for agreed "
				     "treatment.\n"
				     "no_show:\n"
				     "\n"
				     "# 5. Follow-up: date of the follow-up "
				     "meeting as YYYY-MM-DD\n"
				     "# (required), at most 6 months after the "
				     "plan was made. The meeting\n"
				     "# evaluates section 4.\n"
				     "follow_up:\n";

const char *plandoc_template(const char *lang)
{
	return lang && !strcmp(lang, "en") ? template_en : template_da;
}
