/*
 * sweep_priv.h — what the sweep module's files share and nobody else sees:
 * the key table, the raw entries read from the sweep file and the command
 * line, and the parsed value lists.
 */
#ifndef SCALING_SWEEP_PRIV_H
#define SCALING_SWEEP_PRIV_H

#include "sweep.h"

/* Every key a sweep file may hold (docs/sweep.md describes each). */
typedef enum {
    K_NAME,
    K_MODE,
    K_DATA,
    K_FLOPS,
    K_DESCRIPTION, /* [sweep] only */
    K_N_LAYER,
    K_D_MODEL,
    K_N_HEAD,
    K_HEAD_SIZE,
    K_D_FF,
    K_FF_MULT,
    K_N_CTX, /* shape */
    K_SHAPES,
    K_PARAMS,
    K_PARAMS_COUNT,
    K_ASPECT, /* families */
    K_TOKENS,
    K_BUDGET,
    K_UNIQUE_TOKENS, /* budgets */
    K_BATCH,
    K_MICRO_BATCH,
    K_LR,
    K_MIN_LR_FRAC,
    K_WARMUP,
    K_WARMUP_FRAC,
    K_WARMUP_MIN,
    K_SCHEDULE,
    K_CYCLE_TOKENS,
    K_WEIGHT_DECAY,
    K_BETA1,
    K_BETA2,
    K_EPS,
    K_GRAD_CLIP, /* optimiser */
    K_EVALS,
    K_EVAL_WINDOWS,
    K_FINAL_EVAL_TOKENS,
    K_PATIENCE,
    K_LOG_EVERY,
    K_CHECKPOINT_SECS,
    K_SEED,
    K_COOLDOWN, /* schedule = wsd */
    K_COOLDOWN_SHAPE,
    K_HOLDOUT, /* a section's runs are trained but kept out of fits */
    K_AUTO_SIZES,
    K_AUTO_WIDTH,
    K_PRIOR_TPP,
    K_PRIOR_A, /* params = auto (sweep_auto.c) */
    K_COUNT
} sweep_key;

typedef enum { T_INT, T_DBL, T_STR, T_SHAPES, T_LR } sweep_ktype;

typedef struct {
    const char *name;
    sweep_key id;
    sweep_ktype type;
    int sweep_only; /* allowed in [sweep] only */
    double lo, hi;  /* accepted range of each numeric value */
    const char *alias;
} sweep_keydef;

extern const sweep_keydef sweep_keys[K_COUNT];

/* One `key = value` from the file (line > 0) or the command line (line 0). */
typedef struct {
    char *section;
    char *key;
    char *value;
    int line;
    char origin[160]; /* "FILE:LINE" or "override 'key=value'": prefixes messages */
} sweep_entry;

typedef struct {
    char *name;
    int line; /* of its [header] */
} sweep_section;

/* A parsed value: a list of numbers, a string, a list of (n_layer, d_model)
 * pairs, or an lr rule. */
typedef struct {
    int n;
    double *v;   /* numbers (T_INT, T_DBL); pairs flattened (T_SHAPES) */
    char *s;     /* T_STR */
    int is_rule; /* T_LR: lr = c * N_nonembedding^-p */
    double rule_c, rule_p;
} sweep_value;

/* Parses `e->value` as key k into *out (freed with sweep_value_free). A
 * rule(NAME) needs db_path. Message "ORIGIN: key = value: expected ...". */
int sweep_value_parse(const sweep_entry *e, const sweep_keydef *k, const char *db_path,
                      sweep_value *out, char *err, size_t errlen);
void sweep_value_free(sweep_value *v);

/* The file after reading: entries in file order, then overrides. */
typedef struct {
    sweep_entry *e;
    int n, cap;
    sweep_section *sec;
    int nsec, capsec;
    char *text;
} sweep_file;

int sweep_file_read(const char *path, const char *const *overrides, int noverrides, sweep_file *f,
                    char *err, size_t errlen);
void sweep_file_free(sweep_file *f);

const sweep_keydef *sweep_key_find(const char *name);

/* The resolved configuration of run r as JSON (sweep_plan.c; malloc'd, NULL
 * when out of memory): the runs table's config_json and the plan's runs. */
char *sweep_item_json(const sweep_plan *p, const sweep_item *r);

/* WSD families (sweep_wsd.c): sets every run's parent and flops_trained, and
 * with schedule = wsd turns each family of runs that differ only in their
 * token budget into one trunk (the largest) and branches that fork from it
 * at their cooldown's first step. Ids and JSON of changed runs are redone. */
int sweep_wsd_families(sweep_plan *p, char *err, size_t errlen);
/* params = auto with schedule = wsd: each auto run keeps a checkpoint at its
 * cooldown's start and the same size at its next budget forks from there
 * (sweep_wsd.c). Idempotent: the expansion calls it after each budget, so
 * the ids it looks up in the database are the final ones. */
int sweep_auto_chains(sweep_plan *p, char *err, size_t errlen);

#endif
