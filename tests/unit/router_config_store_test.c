/* placeholder until the real test is written: reports skipped */
int main(void) { return 77; }
