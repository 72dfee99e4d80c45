/* placeholder so the module library is never empty */
typedef int model_placeholder_t;
