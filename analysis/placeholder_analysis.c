/* placeholder so the module library is never empty */
typedef int analysis_placeholder_t;
